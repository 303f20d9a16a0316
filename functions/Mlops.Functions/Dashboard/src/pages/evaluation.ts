// A run's evaluation: ROC and PR with a threshold slider that updates the confusion matrix, calibration; the
// confusion matrix of a multiclass model; residuals and predicted-vs-actual of a regressor.
import { chart, lines, Point, scatter } from '../charts';
import { fmt, h, note, section, table } from '../dom';
import { Evaluation, Threshold } from '../types';

export const rocPoints = (roc: Evaluation['roc']): Point[] => (roc ?? []).map((p) => [p.fpr, p.tpr]);
export const prPoints = (pr: Evaluation['pr']): Point[] => (pr ?? []).map((p) => [p.recall, p.precision]);

export function evaluationView(evaluation: Evaluation | undefined | null): HTMLElement[] {
  if (!evaluation) return [section('Evaluation', note('This run has no evaluation on held-out data.'))];
  const views: HTMLElement[] = [];
  const roc = rocPoints(evaluation.roc),
    pr = prPoints(evaluation.pr);
  if (roc.length || pr.length) {
    views.push(
      section(
        `ROC (AUC ${fmt(evaluation.auc, 3)}) and precision-recall (AP ${fmt(evaluation.prAuc, 3)})`,
        h(
          'div',
          { class: 'row' },
          roc.length
            ? chart(
                lines(
                  [
                    { name: 'ROC', data: roc },
                    {
                      name: 'chance',
                      data: [
                        [0, 0],
                        [1, 1],
                      ],
                      dashed: true,
                    },
                  ],
                  { x: 'false positive rate', y: 'true positive rate', xMin: 0, xMax: 1, yMin: 0, yMax: 1 },
                ),
                { id: 'roc-chart' },
              ).box
            : null,
          pr.length
            ? chart(
                lines([{ name: 'PR', data: pr }], { x: 'recall', y: 'precision', xMin: 0, xMax: 1, yMin: 0, yMax: 1 }),
                { id: 'pr-chart' },
              ).box
            : null,
        ),
      ),
    );
  }
  if (evaluation.thresholds?.length) views.push(thresholdView(evaluation.thresholds, evaluation.threshold ?? 0.5));
  if (evaluation.calibration?.length) {
    const bins = evaluation.calibration
      .filter((b) => b.count > 0)
      .map((b) => [b.meanPredicted, b.fractionPositive] as Point);
    views.push(
      section(
        'Calibration',
        chart(
          lines(
            [
              { name: 'observed', data: bins },
              {
                name: 'perfect',
                data: [
                  [0, 0],
                  [1, 1],
                ],
                dashed: true,
              },
            ],
            { x: 'mean predicted probability', y: 'observed frequency', xMin: 0, xMax: 1, yMin: 0, yMax: 1 },
          ),
          { id: 'calibration-chart' },
        ).box,
      ),
    );
  }
  if (evaluation.confusion?.labels?.length) {
    const c = evaluation.confusion;
    views.push(
      section(
        `Confusion matrix at the model's threshold (rows: actual, columns: predicted)`,
        table(
          ['', ...c.labels],
          c.counts.map((r, i) => [c.labels[i], ...r]),
          { id: 'confusion-model' },
        ),
        evaluation.classes?.length
          ? table(
              ['class', 'precision', 'recall', 'F1', 'support'],
              evaluation.classes.map((k) => [k.label, fmt(k.precision, 3), fmt(k.recall, 3), fmt(k.f1, 3), k.support]),
            )
          : null,
      ),
    );
  }
  if (evaluation.pairs?.length) {
    const points = evaluation.pairs.map(([actual, predicted]) => [actual, predicted] as Point);
    const residuals = evaluation.pairs.map(([actual, predicted]) => [predicted, actual - predicted] as Point);
    views.push(
      section(
        'Regression',
        h(
          'div',
          { class: 'row' },
          chart(scatter([{ name: 'rows', data: points }], { x: 'actual', y: 'predicted', diagonal: true }), {
            id: 'predicted-actual',
          }).box,
          chart(scatter([{ name: 'residual', data: residuals }], { x: 'predicted', y: 'actual − predicted' }), {
            id: 'residuals',
          }).box,
        ),
        evaluation.residuals
          ? table(Object.keys(evaluation.residuals), [Object.values(evaluation.residuals).map((v) => fmt(v))])
          : null,
      ),
    );
  }
  return views;
}

/** The slider picks one of the evaluated thresholds; the matrix and rates below follow it. */
function thresholdView(thresholds: Threshold[], modelThreshold: number): HTMLElement {
  const sorted = [...thresholds].sort((a, b) => a.threshold - b.threshold);
  const start = sorted.reduce(
    (best, t, i) =>
      Math.abs(t.threshold - modelThreshold) < Math.abs(sorted[best].threshold - modelThreshold) ? i : best,
    0,
  );
  const slider = h('input', {
    type: 'range',
    id: 'threshold',
    min: 0,
    max: sorted.length - 1,
    step: 1,
    value: start,
    'aria-label': 'decision threshold',
  });
  const label = h('output', { id: 'threshold-value', for: 'threshold' });
  const matrix = h('div', { id: 'confusion' });
  const update = () => {
    const t = sorted[Number(slider.value)];
    label.textContent = fmt(t.threshold, 3);
    const total = t.tp + t.fp + t.tn + t.fn;
    const precision = t.tp + t.fp ? t.tp / (t.tp + t.fp) : 0,
      recall = t.tp + t.fn ? t.tp / (t.tp + t.fn) : 0;
    matrix.replaceChildren(
      table(
        ['', 'predicted positive', 'predicted negative'],
        [
          ['actual positive', h('span', { 'data-cell': 'tp' }, t.tp), h('span', { 'data-cell': 'fn' }, t.fn)],
          ['actual negative', h('span', { 'data-cell': 'fp' }, t.fp), h('span', { 'data-cell': 'tn' }, t.tn)],
        ],
      ),
      h(
        'p',
        {},
        `accuracy ${fmt(total ? (t.tp + t.tn) / total : 0, 3)} · precision ${fmt(precision, 3)} · recall ${fmt(recall, 3)} · F1 ${fmt(precision + recall ? (2 * precision * recall) / (precision + recall) : 0, 3)}`,
      ),
    );
  };
  slider.addEventListener('input', update);
  update();
  return section(
    'Threshold',
    h('div', { class: 'toolbar' }, h('label', { for: 'threshold' }, 'Decision threshold'), slider, label),
    matrix,
  );
}
