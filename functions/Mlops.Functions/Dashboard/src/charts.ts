// ECharts, only the parts the pages use (tree-shaken), drawn as SVG so the charts are inspectable DOM.
import * as echarts from 'echarts/core';
import { BarChart, CustomChart, LineChart, ParallelChart, ScatterChart } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  ParallelComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { h } from './dom';

echarts.use([
  BarChart,
  CustomChart,
  LineChart,
  ParallelChart,
  ScatterChart,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  ParallelComponent,
  TitleComponent,
  TooltipComponent,
  SVGRenderer,
]);

export type Chart = echarts.ECharts;
type Option = echarts.EChartsCoreOption;
const live = new Set<Chart>();

window.addEventListener('resize', () => live.forEach((c) => c.resize()));

/** A chart in a new box; it is disposed with the page (see disposeCharts). */
export function chart(
  option: Option,
  attrs: { id?: string; height?: number; cls?: string } = {},
): { box: HTMLElement; chart: Chart } {
  const box = h('div', { class: 'chart ' + (attrs.cls ?? ''), id: attrs.id });
  box.style.height = (attrs.height ?? 280) + 'px';
  const instance = echarts.init(box, undefined, { renderer: 'svg' });
  instance.setOption({ animation: false, tooltip: { trigger: 'axis' }, ...option });
  live.add(instance);
  // The box is not in the document yet: size it once it is laid out.
  requestAnimationFrame(() => instance.resize());
  return { box, chart: instance };
}

export function disposeCharts(): void {
  live.forEach((c) => c.dispose());
  live.clear();
}

export type Point = [number, number];

/** Line series for xy points, e.g. curves or ROC. */
export function lines(
  series: { name: string; data: Point[]; dashed?: boolean; step?: boolean }[],
  axes: { x?: string; y?: string; logY?: boolean; xMin?: number; xMax?: number; yMin?: number; yMax?: number } = {},
): Option {
  return {
    legend: { top: 0, type: 'scroll' },
    grid: { left: 64, right: 16, top: 36, bottom: 40 },
    xAxis: { type: 'value', name: axes.x, nameLocation: 'middle', nameGap: 24, min: axes.xMin, max: axes.xMax },
    yAxis: {
      type: axes.logY ? 'log' : 'value',
      name: axes.y,
      nameLocation: 'middle',
      nameGap: 44,
      min: axes.yMin,
      max: axes.yMax,
      scale: !axes.logY && axes.yMin === undefined,
    },
    series: series.map((s) => ({
      type: 'line',
      name: s.name,
      data: s.data,
      showSymbol: false,
      step: s.step ? 'end' : undefined,
      lineStyle: s.dashed ? { type: 'dashed' } : undefined,
    })),
  };
}

export function scatter(
  series: { name: string; data: Point[] }[],
  axes: { x?: string; y?: string; diagonal?: boolean } = {},
): Option {
  const all = series.flatMap((s) => s.data);
  const lo = Math.min(...all.map((p) => Math.min(p[0], p[1]))),
    hi = Math.max(...all.map((p) => Math.max(p[0], p[1])));
  const diagonal =
    axes.diagonal && all.length
      ? [
          {
            type: 'line',
            name: 'y = x',
            data: [
              [lo, lo],
              [hi, hi],
            ],
            showSymbol: false,
            lineStyle: { type: 'dashed' },
          },
        ]
      : [];
  return {
    tooltip: { trigger: 'item' },
    legend: { top: 0 },
    grid: { left: 64, right: 16, top: 36, bottom: 40 },
    xAxis: { type: 'value', name: axes.x, nameLocation: 'middle', nameGap: 24, scale: true },
    yAxis: { type: 'value', name: axes.y, nameLocation: 'middle', nameGap: 44, scale: true },
    series: [...series.map((s) => ({ type: 'scatter', name: s.name, data: s.data, symbolSize: 5 })), ...diagonal],
  };
}

export function bars(
  labels: string[],
  values: number[],
  axes: { horizontal?: boolean; name?: string; everyLabel?: boolean } = {},
): Option {
  const category = {
    type: 'category',
    data: labels,
    axisLabel: { interval: axes.everyLabel === false ? 'auto' : 0, width: 120, overflow: 'truncate' },
  };
  const value = { type: 'value', name: axes.name };
  return {
    grid: {
      left: axes.horizontal ? 140 : 48,
      right: 16,
      top: 24,
      bottom: axes.horizontal ? 24 : 60,
      containLabel: false,
    },
    xAxis: axes.horizontal ? value : category,
    yAxis: axes.horizontal ? { ...category, inverse: true } : value,
    series: [{ type: 'bar', data: values }],
  };
}

/** Labels for several run ids: what follows their common prefix (e.g. "t2", "t3"), or the whole id when that is all. */
export function shortNames(ids: string[]): Map<string, string> {
  let prefix = ids.length > 1 ? ids[0] : '';
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1);
  prefix = prefix.slice(0, prefix.lastIndexOf('-') + 1);
  return new Map(ids.map((id) => [id, id.slice(prefix.length) || id]));
}

/** Simple moving average over a window of points (the "smoothing" control of curve charts). */
export function smooth(points: Point[], window: number): Point[] {
  if (window <= 1) return points;
  const out: Point[] = [];
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    sum += points[i][1];
    if (i >= window) sum -= points[i - window][1];
    out.push([points[i][0], sum / Math.min(i + 1, window)]);
  }
  return out;
}
