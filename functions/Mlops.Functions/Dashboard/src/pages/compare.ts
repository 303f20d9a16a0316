// Compare 2–10 runs: parameter diff, overlaid curves, metrics at a chosen step, ROC/PR side by side.
import { get, query } from '../api';
import { chart, lines, Point } from '../charts';
import { fmt, h, note, section, table } from '../dom';
import { href, Route, setParam } from '../router';
import { CurvePoint, Evaluation, RunRow } from '../types';
import { curvePoints } from './evaluation';
import { curveSeries } from './run';

interface Comparison {
  runs: (RunRow & { curve?: CurvePoint[]; evaluation?: Evaluation })[];
  paramDiff?: Record<string, Record<string, unknown>> | { name: string; values: Record<string, unknown> }[];
  metricsAtStep?: Record<string, Record<string, number>>;
  step?: number;
}

export async function comparePage(route: Route): Promise<HTMLElement> {
  const ids = (route.params.get('ids') ?? '').split(',').filter(Boolean);
  if (ids.length < 2 || ids.length > 10) return note('Pick 2 to 10 runs on the Runs page to compare.');
  const step = route.params.get('step') ?? '';
  const c = await get<Comparison>('/api/runs/compare' + query({ ids: ids.join(','), step }));
  const runIds = c.runs.map(r => r.runId);

  const diff = Array.isArray(c.paramDiff) ? Object.fromEntries(c.paramDiff.map(d => [d.name, d.values])) : c.paramDiff ?? {};
  const diffTable = Object.keys(diff).length
    ? table(['parameter', ...runIds], Object.entries(diff).map(([name, values]) => [name, ...runIds.map(id => fmt(values[id]))]), { id: 'param-diff' })
    : note('All parameters are equal.');

  const curves = c.runs.flatMap(r => [...curveSeries(r.curve ?? [], 'step')].filter(([name]) => name.startsWith('validation')).map(([name, data]) => ({ name: `${r.runId} ${name}`, data })));
  const stepInput = h('input', { type: 'number', id: 'compare-step', min: 0, value: step, placeholder: 'last' });
  stepInput.addEventListener('change', () => { setParam('step', stepInput.value || undefined); dispatchEvent(new HashChangeEvent('hashchange')); });
  const atStep = c.metricsAtStep ?? {};
  const metricNames = [...new Set(Object.values(atStep).flatMap(m => Object.keys(m)))];

  const rocs = c.runs.filter(r => r.evaluation?.roc).map(r => ({ name: r.runId, data: curvePoints(r.evaluation!.roc as unknown[], 'fpr', 'tpr') }));
  const prs = c.runs.filter(r => r.evaluation?.pr).map(r => ({ name: r.runId, data: curvePoints(r.evaluation!.pr as unknown[], 'recall', 'precision') }));
  const unit: Point[] = [[0, 0], [1, 1]];
  return h('div', { class: 'compare' }, h('h1', {}, `Comparing ${runIds.length} runs`),
    h('p', {}, runIds.map(id => h('a', { href: href('run', [id]), class: 'chip' }, id))),
    section('Parameters that differ', diffTable),
    section('Validation curves', curves.length ? chart(lines(curves, { x: 'round' }), { id: 'compare-curves', height: 320 }).box : note('No curves recorded.')),
    section('Metrics at a step', h('div', { class: 'toolbar' }, h('label', { for: 'compare-step' }, 'Round'), stepInput),
      table(['metric', ...runIds], metricNames.map(m => [m, ...runIds.map(id => fmt(atStep[id]?.[m]))]), { id: 'metrics-at-step' })),
    rocs.length || prs.length ? section('ROC and PR', h('div', { class: 'row' },
      rocs.length ? chart(lines([...rocs, { name: 'chance', data: unit, dashed: true }], { x: 'FPR', y: 'TPR', xMin: 0, xMax: 1, yMin: 0, yMax: 1 }), { id: 'compare-roc' }).box : null,
      prs.length ? chart(lines(prs, { x: 'recall', y: 'precision', xMin: 0, xMax: 1, yMin: 0, yMax: 1 }), { id: 'compare-pr' }).box : null)) : null);
}
