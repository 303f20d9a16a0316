// Compare 2–10 runs: parameter diff, overlaid curves, metrics at a chosen step, ROC/PR side by side.
import { get, query } from '../api';
import { chart, lines, Point, shortNames } from '../charts';
import { fmt, h, note, section, table } from '../dom';
import { href, Route, setParam } from '../router';
import { CurvePoint, Evaluation, RunRow } from '../types';
import { prPoints, rocPoints } from './evaluation';
import { curveSeries } from './run';

interface AtStep {
  runId: string;
  round?: number;
  metric?: string;
  train?: number;
  validation?: number;
  elapsed?: number;
}
interface Comparison {
  runs: (RunRow & { curve: CurvePoint[]; roc?: Evaluation['roc'] | null; pr?: Evaluation['pr'] | null })[];
  paramDiff: { param: string; values: Record<string, unknown> }[];
  metricsAtStep: AtStep[];
  step?: number | null;
}

export async function comparePage(route: Route): Promise<HTMLElement> {
  const ids = (route.params.get('ids') ?? '').split(',').filter(Boolean);
  if (ids.length < 2 || ids.length > 10) return note('Pick 2 to 10 runs on the Runs page to compare.');
  const step = route.params.get('step') ?? '';
  const c = await get<Comparison>('/api/runs/compare' + query({ ids: ids.join(','), step }));
  const runIds = c.runs.map((r) => r.runId);

  const diffTable = c.paramDiff.length
    ? table(
        ['parameter', ...runIds],
        c.paramDiff.map((d) => [d.param, ...runIds.map((id) => fmt(d.values[id]))]),
        { id: 'param-diff' },
      )
    : note('All parameters are equal.');

  const label = shortNames(runIds);
  // Validation curves when the runs recorded them, else the training curves.
  const all = c.runs.flatMap((r) =>
    [...curveSeries(r.curve ?? [], 'step')].map(([name, data]) => ({ name: `${label.get(r.runId)} ${name}`, data })),
  );
  const validation = all.filter((s) => s.name.includes(' validation '));
  const curves = validation.length ? validation : all;
  const stepInput = h('input', {
    type: 'number',
    id: 'compare-step',
    min: 0,
    value: step || (c.step ?? ''),
    placeholder: 'last',
  });
  stepInput.addEventListener('change', () => {
    setParam('step', stepInput.value || undefined);
    dispatchEvent(new HashChangeEvent('hashchange'));
  });
  const atStep = new Map(c.metricsAtStep.map((m) => [m.runId, m]));
  const stepRows: [string, (m?: AtStep) => unknown][] = [
    ['round', (m) => m?.round],
    ['metric', (m) => m?.metric],
    ['train', (m) => m?.train],
    ['validation', (m) => m?.validation],
    ['elapsed s', (m) => m?.elapsed],
  ];

  const rocs = c.runs.filter((r) => r.roc?.length).map((r) => ({ name: label.get(r.runId)!, data: rocPoints(r.roc!) }));
  const prs = c.runs.filter((r) => r.pr?.length).map((r) => ({ name: label.get(r.runId)!, data: prPoints(r.pr!) }));
  const unit: Point[] = [
    [0, 0],
    [1, 1],
  ];
  return h(
    'div',
    { class: 'compare' },
    h('h1', {}, `Comparing ${runIds.length} runs`),
    h(
      'p',
      {},
      runIds.map((id) => h('a', { href: href('run', [id]), class: 'chip' }, id)),
    ),
    section('Parameters that differ', diffTable),
    section(
      validation.length ? 'Validation curves' : 'Training curves',
      curves.length
        ? chart(lines(curves, { x: 'round' }), { id: 'compare-curves', height: 320 }).box
        : note('No curves recorded.'),
    ),
    section(
      'Metrics at a step',
      h('div', { class: 'toolbar' }, h('label', { for: 'compare-step' }, 'Round'), stepInput),
      table(
        ['', ...runIds],
        stepRows.map(([name, value]) => [name, ...runIds.map((id) => fmt(value(atStep.get(id))))]),
        { id: 'metrics-at-step' },
      ),
    ),
    rocs.length || prs.length
      ? section(
          'ROC and PR',
          h(
            'div',
            { class: 'row' },
            rocs.length
              ? chart(
                  lines([...rocs, { name: 'chance', data: unit, dashed: true }], {
                    x: 'FPR',
                    y: 'TPR',
                    xMin: 0,
                    xMax: 1,
                    yMin: 0,
                    yMax: 1,
                  }),
                  { id: 'compare-roc' },
                ).box
              : null,
            prs.length
              ? chart(lines(prs, { x: 'recall', y: 'precision', xMin: 0, xMax: 1, yMin: 0, yMax: 1 }), {
                  id: 'compare-pr',
                }).box
              : null,
          ),
        )
      : null,
  );
}
