// Sweep: parallel coordinates with brushing, parameter importance with correlation, optimization history (pruned
// trials marked) and the Pareto front of multi-objective sweeps.
import { get } from '../api';
import { bars, chart, Point } from '../charts';
import { fmt, h, note, section, table } from '../dom';
import { href, Route } from '../router';

interface Trial {
  runId: string;
  trial?: number;
  rung?: number;
  status: string;
  prunedAtRound?: number;
  objective?: number;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
}
interface HistoryPoint {
  index: number;
  runId: string;
  objective?: number;
  bestSoFar?: number;
  pruned: boolean;
}
interface Importance {
  name: string;
  kind: string;
  importance: number;
  spearman?: number | null;
}
interface Objective {
  metric: string;
  goal: string;
}
interface SummaryTrial {
  runId: string;
  status: string;
  objectives?: Record<string, number> | null;
}
/** The pipeline's sweep.json (method, objectives, Pareto-optimal run ids, the chosen run). */
interface Summary {
  method?: string;
  paretoFront?: string[];
  chosen?: string;
  objectives?: Objective[] | null;
  trials?: SummaryTrial[];
}
interface SweepView {
  pipeline: string;
  dataset?: string;
  method?: string;
  objective?: string;
  higherIsBetter: boolean;
  trials: Trial[];
  history: HistoryPoint[];
  parameters: Importance[];
  summary?: Summary | null;
}

export async function sweepPage(route: Route): Promise<HTMLElement> {
  const id = route.args[0];
  if (!id) return note('No sweep given: open one from a run.');
  const s = await get<SweepView>(`/api/sweeps/${encodeURIComponent(id)}`);
  const objective = s.objective ?? '';
  const pareto = new Set(s.summary?.paretoFront ?? []);
  const objectives = s.summary?.objectives ?? [];
  const chosen = typeof s.summary?.chosen === 'string' ? s.summary.chosen : null;
  return h(
    'div',
    { class: 'sweep' },
    h('h1', {}, 'Sweep ', id),
    h(
      'p',
      {},
      `${s.trials.length} trials · method ${s.method ?? '?'} · objective ${objective} (${s.higherIsBetter ? 'higher' : 'lower'} is better) · `,
      h('a', { href: href('runs', [], { pipeline: id }) }, 'trials in the runs table'),
      chosen ? [' · chosen ', h('a', { href: href('run', [chosen]) }, chosen)] : null,
    ),
    section('Parallel coordinates (drag along an axis to brush)', parallelView(s.trials, objective)),
    h('div', { class: 'row' }, historyView(s.history), importanceView(s.parameters)),
    objectives.length >= 2
      ? section(
          `Pareto front (${objectives.map((o) => `${o.goal} ${o.metric}`).join(', ')})`,
          paretoView(s.summary?.trials ?? [], pareto, objectives),
        )
      : null,
  );
}

function parallelView(trials: Trial[], objective: string): HTMLElement {
  if (!trials.length) return note('No trials.');
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params ?? {})))].filter(
    (p) => new Set(trials.map((t) => JSON.stringify(t.params[p]))).size > 1,
  );
  const dims = [
    ...params.map((p) => ({ name: p, get: (t: Trial) => t.params[p] })),
    { name: objective, get: (t: Trial) => t.objective ?? t.metrics[objective] },
  ];
  const categories = dims.map((d) => {
    const values = trials.map(d.get);
    return values.every((v) => typeof v === 'number' || v === undefined || v === null)
      ? null
      : [...new Set(values.map(String))];
  });
  const data = trials.map((t) => ({
    value: dims.map((d, i) => {
      const v = d.get(t);
      return categories[i] ? String(v) : (v ?? null);
    }),
    name: t.runId,
    lineStyle: t.status === 'pruned' ? { type: 'dashed', opacity: 0.35 } : undefined,
  }));
  return chart(
    {
      tooltip: { trigger: 'item', formatter: (p: { name: string }) => p.name },
      parallelAxis: dims.map((d, i) =>
        categories[i]
          ? { dim: i, name: d.name, type: 'category', data: categories[i] }
          : { dim: i, name: d.name, scale: true },
      ),
      parallel: { left: 48, right: 80, top: 40, bottom: 30 },
      series: [
        { type: 'parallel', data, lineStyle: { width: 1.5, opacity: 0.7 }, emphasis: { lineStyle: { width: 3 } } },
      ],
    },
    { id: 'parallel-chart', height: 340 },
  ).box;
}

// Distinct colours so the pruned markers and the front's points can be told apart in the SVG (and by the tests).
const prunedColor = '#b44';
const frontColor = '#2a7';

function historyView(history: HistoryPoint[]): HTMLElement {
  if (!history.length) return section('Optimization history', note('No history.'));
  const point = (p: HistoryPoint) => [p.index, p.objective ?? null] as unknown as Point;
  const pruned = history.filter((p) => p.pruned).length;
  return section(
    'Optimization history',
    h(
      'p',
      { class: 'note', id: 'history-counts', 'data-completed': history.length - pruned, 'data-pruned': pruned },
      `${history.length - pruned} completed · ${pruned} pruned (red triangles)`,
    ),
    chart(
      {
        tooltip: { trigger: 'item' },
        legend: { top: 0 },
        grid: { left: 56, right: 16, top: 32, bottom: 40 },
        xAxis: { type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 24 },
        yAxis: { type: 'value', scale: true },
        series: [
          { type: 'scatter', name: 'completed', data: history.filter((p) => !p.pruned).map(point) },
          {
            type: 'scatter',
            name: 'pruned',
            data: history.filter((p) => p.pruned).map(point),
            symbol: 'triangle',
            itemStyle: { color: prunedColor },
          },
          {
            type: 'line',
            name: 'best so far',
            data: history
              .filter((p) => p.bestSoFar !== null && p.bestSoFar !== undefined)
              .map((p) => [p.index, p.bestSoFar]),
            step: 'end',
            showSymbol: false,
          },
        ],
      },
      { id: 'history-chart' },
    ).box,
  );
}

function importanceView(importance: Importance[]): HTMLElement {
  if (!importance.length) return section('Parameter importance', note('Too few completed trials to estimate.'));
  const sorted = [...importance].sort((a, b) => b.importance - a.importance);
  return section(
    'Parameter importance (share of variance explained, fANOVA-style)',
    chart(
      bars(
        sorted.map((i) => i.name),
        sorted.map((i) => i.importance),
        { horizontal: true },
      ),
      { id: 'param-importance', height: 28 * sorted.length + 48 },
    ).box,
    table(
      ['parameter', 'importance', 'Spearman correlation with objective'],
      sorted.map((i) => [i.name, fmt(i.importance, 3), fmt(i.spearman, 3)]),
    ),
  );
}

/** The first two objectives against each other; the Pareto-optimal trials joined as the front. */
function paretoView(trials: SummaryTrial[], front: Set<string>, objectives: Objective[]): HTMLElement {
  const [a, b] = objectives.map((o) => o.metric);
  const measured = trials.filter((t) => t.objectives && t.objectives[a] !== undefined && t.objectives[b] !== undefined);
  const point = (t: SummaryTrial) => [t.objectives![a], t.objectives![b]] as Point;
  const onFront = measured
    .filter((t) => front.has(t.runId))
    .map(point)
    .sort((x, y) => x[0] - y[0]);
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'note', id: 'pareto-counts', 'data-front': onFront.length },
      `${onFront.length} Pareto-optimal of ${measured.length} measured trials`,
    ),
    chart(
      {
        tooltip: { trigger: 'item' },
        legend: { top: 0 },
        grid: { left: 56, right: 16, top: 32, bottom: 40 },
        xAxis: { type: 'value', name: a, nameLocation: 'middle', nameGap: 24, scale: true },
        yAxis: { type: 'value', name: b, scale: true },
        series: [
          { type: 'scatter', name: 'trials', data: measured.filter((t) => !front.has(t.runId)).map(point) },
          {
            type: 'line',
            name: 'Pareto front',
            data: onFront,
            symbolSize: 8,
            itemStyle: { color: frontColor },
            lineStyle: { color: frontColor },
          },
        ],
      },
      { id: 'pareto-chart' },
    ).box,
  );
}
