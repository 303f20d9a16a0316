// Run: metric curves per round (step or wall-time axis, log scale, smoothing), params, environment, lineage,
// feature importance and the evaluation on held-out data.
import { get } from '../api';
import { chart, bars, lines, Point, smooth } from '../charts';
import { fmt, fmtTime, h, note, section, seconds, table } from '../dom';
import { href, Route, setParam } from '../router';
import { CurvePoint, RunDetail } from '../types';
import { evaluationView } from './evaluation';

export async function runPage(route: Route): Promise<HTMLElement> {
  const runId = route.args[0];
  if (!runId) return note('No run given.');
  const run = await get<RunDetail>(`/api/runs/${encodeURIComponent(runId)}`);
  const summary = table(
    ['run', 'dataset', 'pipeline', 'status', 'trainer', 'created', 'train time'],
    [
      [
        run.runId,
        run.dataset ? h('a', { href: href('datasets', [run.dataset]) }, run.dataset) : '',
        h('a', { href: href('sweep', [run.pipeline]) }, run.pipeline),
        h('span', { class: 'status ' + run.status }, run.status + (run.pruneReason ? ` (${run.pruneReason})` : '')),
        run.trainer ?? '',
        fmtTime(run.createdAt),
        seconds(run.trainSeconds),
      ],
    ],
    { id: 'run-summary' },
  );
  return h(
    'div',
    { class: 'run' },
    h('h1', {}, 'Run ', run.runId),
    summary,
    curvesView(run.curve ?? [], route.params),
    h(
      'div',
      { class: 'row' },
      section('Metrics', keyValues(run.metrics)),
      section('Parameters', keyValues(run.params)),
    ),
    ...evaluationView(run.evaluation),
    importanceView(run.importance),
    h('div', { class: 'row' }, section('Lineage', keyValues(run.lineage)), section('Environment', keyValues(run.env))),
  );
}

/** A run's curve as series per split ("train logloss", "validation logloss"), against rounds or seconds. */
export function curveSeries(curve: CurvePoint[], axis: 'step' | 'time'): Map<string, Point[]> {
  const series = new Map<string, Point[]>();
  for (const p of curve) {
    const x = axis === 'time' ? (p.elapsed ?? p.round) : p.round;
    for (const split of ['train', 'validation'] as const) {
      const y = p[split];
      if (y === undefined || y === null) continue;
      const name = `${split} ${p.metric ?? 'loss'}`;
      if (!series.has(name)) series.set(name, []);
      series.get(name)!.push([x, y]);
    }
  }
  return series;
}

function curvesView(curve: CurvePoint[], params: URLSearchParams): HTMLElement {
  if (!curve.length) return section('Curves', note('This trainer records no per-round curve.'));
  const axis = params.get('axis') === 'time' ? 'time' : 'step';
  const log = params.get('log') === '1';
  const window = Number(params.get('smooth') ?? '1') || 1;
  const series = [...curveSeries(curve, axis)].map(([name, data]) => ({ name, data: smooth(data, window) }));
  const reload = (name: string, value: string | undefined) => {
    setParam(name, value);
    dispatchEvent(new HashChangeEvent('hashchange'));
  };
  const controls = h(
    'div',
    { class: 'toolbar' },
    h(
      'label',
      {},
      'x axis ',
      h(
        'select',
        {
          id: 'curve-axis',
          onchange: (e: Event) => reload('axis', (e.target as HTMLSelectElement).value === 'time' ? 'time' : undefined),
        },
        h('option', { value: 'step', selected: axis === 'step' }, 'round'),
        h('option', { value: 'time', selected: axis === 'time' }, 'wall time (s)'),
      ),
    ),
    h(
      'label',
      {},
      h('input', {
        type: 'checkbox',
        id: 'curve-log',
        checked: log,
        onchange: (e: Event) => reload('log', (e.target as HTMLInputElement).checked ? '1' : undefined),
      }),
      ' log scale',
    ),
    h(
      'label',
      {},
      'smoothing ',
      h('input', {
        type: 'number',
        id: 'curve-smooth',
        min: 1,
        max: 50,
        value: window,
        onchange: (e: Event) =>
          reload(
            'smooth',
            (e.target as HTMLInputElement).value === '1' ? undefined : (e.target as HTMLInputElement).value,
          ),
      }),
    ),
  );
  return section(
    'Curves',
    controls,
    chart(lines(series, { x: axis === 'time' ? 'seconds' : 'round', logY: log }), { id: 'curve-chart', height: 320 })
      .box,
  );
}

function importanceView(importance: RunDetail['importance']): HTMLElement | null {
  if (!importance?.features.length) return null;
  const top = importance.features
    .map((f) => [f.column, f.importance] as [string, number])
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .slice(0, 20);
  return section(
    `Feature importance (${importance.kind})`,
    chart(
      bars(
        top.map((p) => p[0]),
        top.map((p) => p[1]),
        { horizontal: true },
      ),
      { id: 'importance-chart', height: 24 * top.length + 48 },
    ).box,
  );
}

export function keyValues(values: Record<string, unknown> | undefined | null): HTMLElement {
  const entries = Object.entries(values ?? {});
  if (!entries.length) return note('none');
  return table(
    ['name', 'value'],
    entries.map(([k, v]) => [k, fmt(v)]),
    { class: 'grid kv' },
  );
}
