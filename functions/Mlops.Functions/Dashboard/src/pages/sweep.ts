// Sweep: parallel coordinates with brushing, parameter importance with correlation, optimization history (pruned
// trials marked) and the Pareto front of multi-objective sweeps.
import { get } from '../api';
import { bars, chart, Point } from '../charts';
import { fmt, h, note, section, table } from '../dom';
import { href, Route } from '../router';
import { RunRow } from '../types';

interface Importance { parameter: string; importance: number; correlation?: number; }
interface SweepView {
  pipelineId: string; objective?: string; trials: RunRow[];
  history?: { trial: number; runId: string; value: number; best: number; status: string }[];
  importance?: Importance[];
  summary?: { method?: string; pareto?: string[]; paretoFront?: string[]; chosen?: string; objectives?: string[] } | null;
}

export async function sweepPage(route: Route): Promise<HTMLElement> {
  const id = route.args[0];
  if (!id) return note('No sweep given: open one from a run.');
  const s = await get<SweepView>(`/api/sweeps/${encodeURIComponent(id)}`);
  const objective = s.objective ?? Object.keys(s.trials[0]?.metrics ?? {})[0] ?? '';
  const pareto = new Set(s.summary?.pareto ?? s.summary?.paretoFront ?? []);
  return h('div', { class: 'sweep' }, h('h1', {}, 'Sweep ', id),
    h('p', {}, `${s.trials.length} trials · method ${s.summary?.method ?? s.trials[0]?.sweepMethod ?? '?'} · objective ${objective}`,
      s.summary?.chosen ? [' · chosen ', h('a', { href: href('run', [s.summary.chosen]) }, s.summary.chosen)] : null),
    section('Parallel coordinates (drag on an axis to brush)', parallelView(s.trials, objective)),
    h('div', { class: 'row' }, historyView(s), importanceView(s.importance ?? [])),
    pareto.size ? section('Pareto front', paretoView(s.trials, pareto, s.summary?.objectives)) : null);
}

function parallelView(trials: RunRow[], objective: string): HTMLElement {
  const params = [...new Set(trials.flatMap(t => Object.keys(t.params ?? {})))].filter(p => trials.some(t => typeof t.params[p] === 'number' || typeof t.params[p] === 'string'));
  if (!trials.length) return note('No trials.');
  const dims = [...params.map(p => ({ name: p, get: (t: RunRow) => t.params[p] })), { name: objective, get: (t: RunRow) => t.metrics[objective] }];
  const categories = dims.map(d => { const values = trials.map(d.get); return values.every(v => typeof v === 'number' || v === undefined) ? null : [...new Set(values.map(String))]; });
  const data = trials.map(t => ({ value: dims.map(d => d.get(t) ?? null), name: t.runId, lineStyle: t.status === 'pruned' ? { type: 'dashed', opacity: 0.35 } : undefined }));
  return chart({
    tooltip: { trigger: 'item', formatter: (p: { name: string }) => p.name },
    parallelAxis: dims.map((d, i) => categories[i] ? { dim: i, name: d.name, type: 'category', data: categories[i] } : { dim: i, name: d.name, scale: true }),
    parallel: { left: 48, right: 80, top: 40, bottom: 30 },
    series: [{ type: 'parallel', data, lineStyle: { width: 1.5, opacity: 0.7 }, emphasis: { lineStyle: { width: 3 } } }],
  }, { id: 'parallel-chart', height: 340 }).box;
}

function historyView(s: SweepView): HTMLElement {
  const history = s.history ?? [];
  if (!history.length) return section('Optimization history', note('No history.'));
  const done = history.filter(p => p.status !== 'pruned').map(p => [p.trial, p.value] as Point);
  const pruned = history.filter(p => p.status === 'pruned').map(p => [p.trial, p.value] as Point);
  return section('Optimization history', chart({
    tooltip: { trigger: 'item' }, legend: { top: 0 }, grid: { left: 56, right: 16, top: 32, bottom: 40 },
    xAxis: { type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 24 }, yAxis: { type: 'value', scale: true },
    series: [
      { type: 'scatter', name: 'completed', data: done },
      { type: 'scatter', name: 'pruned', data: pruned, symbol: 'triangle', itemStyle: { color: '#b44' } },
      { type: 'line', name: 'best so far', data: history.map(p => [p.trial, p.best]), step: 'end', showSymbol: false },
    ],
  }, { id: 'history-chart' }).box);
}

function importanceView(importance: Importance[]): HTMLElement {
  if (!importance.length) return section('Parameter importance', note('Too few trials to estimate.'));
  const sorted = [...importance].sort((a, b) => b.importance - a.importance);
  return section('Parameter importance', chart(bars(sorted.map(i => i.parameter), sorted.map(i => i.importance), { horizontal: true }), { id: 'param-importance', height: 28 * sorted.length + 48 }).box,
    table(['parameter', 'importance', 'correlation with objective'], sorted.map(i => [i.parameter, fmt(i.importance, 3), fmt(i.correlation, 3)])));
}

function paretoView(trials: RunRow[], front: Set<string>, objectives?: string[]): HTMLElement {
  const [a, b] = objectives?.length === 2 ? objectives : Object.keys(trials[0]?.metrics ?? {}).slice(0, 2);
  const point = (t: RunRow) => [t.metrics[a], t.metrics[b]] as Point;
  const onFront = trials.filter(t => front.has(t.runId)).map(point).sort((x, y) => x[0] - y[0]);
  return chart({
    tooltip: { trigger: 'item' }, legend: { top: 0 }, grid: { left: 56, right: 16, top: 32, bottom: 40 },
    xAxis: { type: 'value', name: a, nameLocation: 'middle', nameGap: 24, scale: true }, yAxis: { type: 'value', name: b, scale: true },
    series: [{ type: 'scatter', name: 'trials', data: trials.filter(t => !front.has(t.runId)).map(point) },
      { type: 'line', name: 'Pareto front', data: onFront, symbolSize: 8 }],
  }, { id: 'pareto-chart' }).box;
}
