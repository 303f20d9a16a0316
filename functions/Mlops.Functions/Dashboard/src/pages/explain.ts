// Explanations on the Model page (issue 21): the global importance stored at registration (mean |SHAP| per input
// column over the held-out rows), a beeswarm of per-row contributions over recently served rows, and "explain a row":
// a waterfall from the base value to the row's raw score. Everything is in the model's raw output space (log-odds of a
// class for classifiers, the value for regression), where contributions add up exactly; the charts say so.
import { ApiError, get, post, query } from '../api';
import { chart } from '../charts';
import { fmt, fmtTime, h, note, section, table } from '../dom';

/** GET /api/models/{m}/versions/{v}/importance (Mlops.ML.Explain.AttributionSummary). */
export interface Importance {
  method: string;
  rows: number;
  columns: { column: string; meanAbs: number; share: number }[];
}

/** One row of GET …/explanations: a logged input and its contributions, output-major and aligned with `columns`. */
export interface SampleRow {
  id?: string | null;
  at: string;
  servedBy: number;
  values: Record<string, unknown>;
  contributions: number[][];
}

/** GET /api/models/{m}/versions/{v}/explanations: recently served rows explained by one version. */
export interface Sample {
  model: string;
  version: number;
  task: string;
  method: string;
  columns: string[];
  outputs: string[];
  base: number[];
  from: string;
  to: string;
  linesRead: number;
  rowsSkipped: number;
  truncated: boolean;
  rows: SampleRow[];
}

/** A prediction's `explanation` as predict answers it: one output (binary, regression) or one per class. */
interface ServedExplanation {
  base: number | Record<string, number>;
  contributions: Record<string, number> | Record<string, Record<string, number>>;
}
interface ServedPrediction {
  label?: string;
  probabilities?: Record<string, number>;
  value?: number;
  explanation?: ServedExplanation;
}
interface PredictResponse {
  model: string;
  version: number;
  predictions: ServedPrediction[];
  predictionIds?: string[];
}

/** An explanation per output: what the waterfall draws. */
interface RowExplanation {
  outputs: string[];
  base: number[];
  contributions: Record<string, number>[];
}

/** The part of ECharts' custom-series API the waterfall uses (its own types are not exported by echarts/core). */
interface RenderApi {
  value: (dim: number) => number | string;
  coord: (v: number[]) => number[];
  size?: (v: number[]) => number | number[];
}

/** One bar of the waterfall: a column's contribution (or the base / the raw score, drawn from zero). */
export interface Step {
  label: string;
  start: number;
  end: number;
  kind: 'total' | 'up' | 'down';
}

const beeswarmColumns = 12;
const waterfallColumns = 12;
const colors = {
  total: '#5b6473',
  up: '#c2362b',
  down: '#2463d1',
  low: [36, 99, 209],
  high: [194, 54, 43],
  text: '#a0a6b0',
};

type Loaded<T> = { value: T } | { error: string };
async function load<T>(path: string): Promise<Loaded<T>> {
  try {
    return { value: await get<T>(path) };
  } catch (e) {
    // A 401/403 has already sent the user to the sign-in form; anything else is this section's message, not the page's.
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** The Explanations section of a model version: importance bar, beeswarm and explain-a-row. */
export async function explanationsView(model: string, version: number): Promise<HTMLElement> {
  const base = `/api/models/${encodeURIComponent(model)}/versions/${version}`;
  const [importance, sample] = await Promise.all([
    load<Importance>(`${base}/importance`),
    load<Sample>(`${base}/explanations` + query({ sample: 200 })),
  ]);
  const importanceBox =
    'error' in importance
      ? h('p', { class: 'note', id: 'importance-error' }, `Global importance: ${importance.error}`)
      : importanceChart(importance.value);
  const swarmBox =
    'error' in sample
      ? h(
          'p',
          { class: 'error', id: 'beeswarm-error', role: 'alert' },
          `Contributions over served rows: ${sample.error}`,
        )
      : beeswarm(sample.value, 'error' in importance ? undefined : importance.value);
  return section(
    `Explanations · v${version}`,
    note(
      "Exact contributions (TreeSHAP for tree models, exact linear attributions otherwise) in the model's raw output " +
        'space: log-odds for classifiers, the value for regression. Base value + contributions = raw score.',
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'div',
        {},
        h('h3', {}, 'Global importance: mean |SHAP| per column (held-out rows at registration)'),
        importanceBox,
      ),
      h('div', {}, h('h3', {}, 'Contributions per row over recently served rows'), swarmBox),
    ),
    explainRow(model, version, 'error' in sample ? [] : sample.value.rows),
  );
}

/** Horizontal bars, most important column on top. */
function importanceChart(importance: Importance): HTMLElement {
  const columns = [...importance.columns].sort((a, b) => b.meanAbs - a.meanAbs);
  const option = {
    tooltip: {
      trigger: 'item',
      formatter: (p: { dataIndex: number }) => {
        const c = columns[p.dataIndex];
        return c ? `${c.column}: ${fmt(c.meanAbs)} (${fmt(100 * c.share, 3)}% of the total)` : '';
      },
    },
    grid: { left: 190, right: 24, top: 8, bottom: 36 },
    xAxis: {
      type: 'value',
      name: `mean |SHAP| over ${importance.rows} rows (${importance.method})`,
      nameLocation: 'middle',
      nameGap: 22,
    },
    yAxis: {
      type: 'category',
      inverse: true,
      data: columns.map((c) => c.column),
      axisLabel: { interval: 0, width: 180, overflow: 'truncate' },
    },
    series: [{ type: 'bar', data: columns.map((c) => c.meanAbs), itemStyle: { color: colors.up } }],
  };
  const { box } = chart(option, { id: 'importance-chart', height: 50 + 18 * columns.length });
  box.dataset.columns = String(columns.length);
  return box;
}

/**
 * A beeswarm: one line per column (the most important first), one dot per row at its contribution, stacked where dots
 * would overlap, coloured by the row's value of that column relative to the sample (blue low, red high, grey text).
 */
export function beeswarm(sample: Sample, importance?: Importance): HTMLElement {
  if (!sample.rows.length)
    return note(
      `No predictions logged between ${fmtTime(sample.from)} and ${fmtTime(sample.to)} UTC` +
        (sample.rowsSkipped ? ` that v${sample.version} can read (${sample.rowsSkipped} rows skipped)` : '') +
        ': send some to the predict route, or explain a row below.',
    );
  const select = h(
    'select',
    { id: 'beeswarm-output' },
    sample.outputs.map((o, i) => h('option', { value: i }, o)),
  );
  const holder = h('div', {});
  const draw = (output: number) => holder.replaceChildren(swarmChart(sample, output, importance));
  select.addEventListener('change', () => draw(Number(select.value)));
  draw(0);
  return h(
    'div',
    {},
    sample.outputs.length > 1 ? h('label', {}, 'class ', select) : null,
    holder,
    note(
      `${sample.rows.length} rows served ${fmtTime(sample.rows[sample.rows.length - 1].at)} – ${fmtTime(sample.rows[0].at)} UTC, ` +
        `explained by v${sample.version}` +
        (sample.rowsSkipped ? `; ${sample.rowsSkipped} rows it cannot read skipped` : '') +
        (sample.truncated ? '; the log was read only in part (newest first)' : '') +
        ". Colour: the row's value of the column (blue low → red high, grey: text or missing).",
    ),
  );
}

function swarmChart(sample: Sample, output: number, importance?: Importance): HTMLElement {
  const meanAbs = sample.columns.map((_, j) =>
    sample.rows.reduce((s, r) => s + Math.abs(r.contributions[output]?.[j] ?? 0), 0),
  );
  const rank =
    importance && sample.outputs.length === 1
      ? importance.columns.map((c) => sample.columns.indexOf(c.column)).filter((j) => j >= 0)
      : sample.columns.map((_, j) => j).sort((a, b) => meanAbs[b] - meanAbs[a]);
  const shown = rank.slice(0, beeswarmColumns);
  const names = shown.map((j) => sample.columns[j]);
  const tips: string[][] = [];
  const series = shown.map((j, line) => {
    const column = sample.columns[j];
    const points = sample.rows.map((r) => ({ x: r.contributions[output]?.[j] ?? 0, value: r.values[column] }));
    const shade = valueShades(points.map((p) => p.value));
    const offsets = swarmOffsets(points.map((p) => p.x));
    tips.push(points.map((p) => `${column} = ${fmt(p.value)}: ${p.x >= 0 ? '+' : ''}${fmt(p.x)}`));
    return {
      type: 'scatter',
      name: column,
      symbolSize: 5,
      data: points.map((p, i) => ({ value: [p.x, line + offsets[i]], itemStyle: { color: shade[i] } })),
    };
  });
  const option = {
    tooltip: {
      trigger: 'item',
      formatter: (p: { seriesIndex: number; dataIndex: number }) => tips[p.seriesIndex]?.[p.dataIndex] ?? '',
    },
    grid: { left: 190, right: 24, top: 8, bottom: 36 },
    xAxis: {
      type: 'value',
      name: `contribution to the raw score (${rawName(sample.task, sample.outputs[output])})`,
      nameLocation: 'middle',
      nameGap: 22,
    },
    // Ticks fall on whole numbers from the minimum, so the extent is whole too: one labelled tick per column line.
    yAxis: {
      type: 'value',
      inverse: true,
      min: -1,
      max: names.length,
      interval: 1,
      splitLine: { show: false },
      axisLabel: { formatter: (v: number) => names[v] ?? '', width: 180, overflow: 'truncate' },
    },
    series,
  };
  const { box } = chart(option, { id: 'beeswarm-chart', height: 50 + 30 * names.length });
  box.dataset.rows = String(sample.rows.length);
  box.dataset.columns = names.join('\n');
  return box;
}

/** What a raw output is, for axis names: the log-odds of a class, or the regression value. */
function rawName(task: string, output: string): string {
  return task === 'regression' ? `the predicted ${output}` : `log-odds of class "${output}"`;
}

/** Dot colours: numeric values by their rank in the sample (robust to outliers), text and missing values grey. */
function valueShades(values: unknown[]): string[] {
  const numbers = values.map((v) =>
    typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : NaN,
  );
  const sorted = numbers.filter((n) => !Number.isNaN(n)).sort((a, b) => a - b);
  return numbers.map((n) => {
    if (Number.isNaN(n) || sorted.length < 2) return colors.text;
    const t = lowerBound(sorted, n) / (sorted.length - 1);
    const mix = colors.low.map((c, i) => Math.round(c + (colors.high[i] - c) * t));
    return `rgb(${mix.join(',')})`;
  });
}

function lowerBound(sorted: number[], x: number): number {
  let lo = 0,
    hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Vertical offsets that spread dots of nearly equal x around their line (±0.4 of a line), alternately up and down. */
export function swarmOffsets(xs: number[], bins = 60): number[] {
  const lo = Math.min(...xs),
    hi = Math.max(...xs);
  const width = hi > lo ? (hi - lo) / bins : 1;
  const seen = new Map<number, number>();
  const bin = xs.map((x) => Math.min(bins - 1, Math.floor((x - lo) / width)));
  bin.forEach((b) => seen.set(b, (seen.get(b) ?? 0) + 1));
  const crowd = Math.max(1, ...seen.values());
  const step = Math.min(0.08, 0.8 / crowd);
  const placed = new Map<number, number>();
  return bin.map((b) => {
    const k = placed.get(b) ?? 0;
    placed.set(b, k + 1);
    return (k % 2 ? 1 : -1) * Math.ceil(k / 2) * step;
  });
}

/** Paste a JSON row (or pick a logged one), explain it with this version, and draw the waterfall. */
function explainRow(model: string, version: number, logged: SampleRow[]): HTMLElement {
  const text = h('textarea', {
    id: 'explain-row',
    rows: 5,
    spellcheck: 'false',
    placeholder: '{"column": value, ...}',
  });
  text.value = logged[0] ? JSON.stringify(logged[0].values, null, 1) : '';
  const pick = h(
    'select',
    { id: 'explain-pick' },
    h('option', { value: '' }, logged.length ? 'a logged prediction…' : 'no logged predictions'),
    logged.map((r, i) => h('option', { value: i }, `${fmtTime(r.at)} · v${r.servedBy}${r.id ? ' · ' + r.id : ''}`)),
  );
  pick.addEventListener('change', () => {
    const row = logged[Number(pick.value)];
    if (pick.value !== '' && row) text.value = JSON.stringify(row.values, null, 1);
  });
  const result = h('div', { id: 'explain-result' });
  const go = h('button', { id: 'explain-go', type: 'button' }, 'Explain');
  go.addEventListener('click', async () => {
    result.replaceChildren(h('p', { class: 'loading' }, 'Explaining…'));
    result.replaceChildren(await explainOne(model, version, text.value));
  });
  return h(
    'div',
    { class: 'explain-row' },
    h('h3', {}, 'Explain a row'),
    note(
      `The row is sent to the predict route with "explain": true (version ${version}); it is logged like any prediction.`,
    ),
    h('div', { class: 'toolbar' }, pick, go),
    text,
    result,
  );
}

async function explainOne(model: string, version: number, input: string): Promise<HTMLElement> {
  const problem = (message: string) => h('p', { class: 'error', id: 'explain-error', role: 'alert' }, message);
  let row: unknown;
  try {
    row = JSON.parse(input);
  } catch (e) {
    return problem(`The row is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (row === null || typeof row !== 'object' || Array.isArray(row))
    return problem('The row must be one JSON object of column: value pairs, e.g. {"age": 41, "city": "Oslo"}.');
  let answer: PredictResponse;
  try {
    answer = await post<PredictResponse>(`/api/models/${encodeURIComponent(model)}/predict` + query({ version }), {
      rows: [row],
      explain: true,
    });
  } catch (e) {
    const status = e instanceof ApiError ? ` (HTTP ${e.status})` : '';
    return problem(`The model refused the row${status}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const served = answer.predictions[0];
  if (!served?.explanation) return problem('The answer carried no explanation.');
  const explanation = normalize(served.explanation, served);
  const values = row as Record<string, unknown>;
  const holder = h('div', {});
  const select = h(
    'select',
    { id: 'explain-output' },
    explanation.outputs.map((o, i) => h('option', { value: i }, o)),
  );
  const draw = (o: number) => holder.replaceChildren(waterfallView(explanation, o, values, served));
  select.addEventListener('change', () => draw(Number(select.value)));
  // A multiclass row opens on the class it was predicted as.
  const predicted = served.label !== undefined ? explanation.outputs.indexOf(served.label) : -1;
  draw(Math.max(0, predicted));
  if (predicted > 0) select.value = String(predicted);
  return h('div', {}, explanation.outputs.length > 1 ? h('label', {}, 'class ', select) : null, holder);
}

/** One shape for every task. A single output is the positive class (probabilities are [negative, positive]) or the value. */
function normalize(e: ServedExplanation, served: ServedPrediction): RowExplanation {
  if (typeof e.base === 'number') {
    const classes = Object.keys(served.probabilities ?? {});
    const output = served.value !== undefined ? 'value' : (classes[classes.length - 1] ?? '');
    return { outputs: [output], base: [e.base], contributions: [e.contributions as Record<string, number>] };
  }
  const outputs = Object.keys(e.base);
  const perClass = e.contributions as Record<string, Record<string, number>>;
  return {
    outputs,
    base: outputs.map((o) => (e.base as Record<string, number>)[o]),
    contributions: outputs.map((o) => perClass[o] ?? {}),
  };
}

/**
 * The waterfall's bars, top to bottom: the base value, each column's contribution by decreasing size (the smallest
 * ones folded into one bar), and the raw score. The last bar ends where the sum of the others does.
 */
export function waterfallSteps(
  base: number,
  contributions: Record<string, number>,
  values: Record<string, unknown>,
  keep = waterfallColumns,
): Step[] {
  const entries = Object.entries(contributions).sort(
    (a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0].localeCompare(b[0]),
  );
  const shown = entries.length > keep + 1 ? entries.slice(0, keep) : entries;
  const folded = entries.slice(shown.length);
  const steps: Step[] = [{ label: 'base value E[f(x)]', start: 0, end: base, kind: 'total' }];
  let at = base;
  const add = (label: string, delta: number) => {
    steps.push({ label, start: at, end: at + delta, kind: delta >= 0 ? 'up' : 'down' });
    at += delta;
  };
  for (const [column, delta] of shown) add(`${column} = ${fmt(values[column] ?? null) || 'missing'}`, delta);
  if (folded.length)
    add(
      `${folded.length} other columns`,
      folded.reduce((s, [, v]) => s + v, 0),
    );
  steps.push({ label: 'raw score f(x)', start: 0, end: at, kind: 'total' });
  return steps;
}

function waterfallView(
  e: RowExplanation,
  output: number,
  values: Record<string, unknown>,
  served: ServedPrediction,
): HTMLElement {
  const steps = waterfallSteps(e.base[output], e.contributions[output], values);
  const end = steps[steps.length - 1].end;
  const name = e.outputs[output];
  const space =
    served.value !== undefined ? 'raw output: the predicted value' : `raw output: log-odds of class "${name}"`;
  const option = {
    tooltip: {
      trigger: 'item',
      formatter: (p: { dataIndex: number }) => {
        const s = steps[p.dataIndex];
        return s
          ? `${s.label}: ${s.kind === 'total' ? fmt(s.end, 6) : (s.end >= s.start ? '+' : '') + fmt(s.end - s.start, 6)}`
          : '';
      },
    },
    grid: { left: 230, right: 24, top: 30, bottom: 36 },
    title: { text: space, left: 'center', top: 0, textStyle: { fontSize: 12, fontWeight: 'normal' } },
    xAxis: { type: 'value', name: space, nameLocation: 'middle', nameGap: 22 },
    yAxis: {
      type: 'category',
      inverse: true,
      data: steps.map((s) => s.label),
      axisLabel: { interval: 0, width: 220, overflow: 'truncate' },
    },
    series: [
      {
        type: 'custom',
        encode: { x: [0, 1], y: 2 },
        data: steps.map((s, i) => [s.start, s.end, i]),
        renderItem: (_: unknown, api: RenderApi) => {
          const i = Number(api.value(2));
          const step = steps[i];
          const [x0, y] = api.coord([Math.min(step.start, step.end), i]);
          const [x1] = api.coord([Math.max(step.start, step.end), i]);
          const size = api.size?.([0, 1]);
          const band = (Array.isArray(size) ? size[1] : 20) * 0.6;
          return {
            type: 'rect',
            shape: { x: x0, y: y - band / 2, width: Math.max(1, x1 - x0), height: band },
            style: { fill: colors[step.kind] },
          };
        },
      },
    ],
  };
  const { box } = chart(option, { id: 'waterfall', height: 70 + 26 * steps.length });
  box.dataset.base = String(e.base[output]);
  box.dataset.end = String(end);
  box.dataset.output = name;
  return h(
    'div',
    {},
    box,
    servedLine(end, name, served),
    table(
      ['', 'contribution', 'running total'],
      steps.map((s) => [
        s.label,
        s.kind === 'total' ? '' : (s.end >= s.start ? '+' : '') + fmt(s.end - s.start, 6),
        fmt(s.end, 6),
      ]),
      { id: 'waterfall-steps' },
    ),
  );
}

/** The answer as served, and the check that the explanation accounts for it. */
function servedLine(end: number, output: string, served: ServedPrediction): HTMLElement {
  if (served.value !== undefined)
    return h(
      'p',
      { id: 'served', 'data-raw': served.value },
      `Served value ${fmt(served.value, 6)}; base + contributions = ${fmt(end, 6)}.`,
    );
  const p = served.probabilities?.[output];
  const probabilities = Object.entries(served.probabilities ?? {})
    .map(([c, v]) => `P(${c}) = ${fmt(v, 4)}`)
    .join(', ');
  if (p === undefined || Object.keys(served.probabilities ?? {}).length > 2)
    return h(
      'p',
      { id: 'served' },
      `Served label "${served.label ?? ''}" (${probabilities}); the class probabilities are the softmax of the ` +
        "classes' raw scores.",
    );
  const logit = Math.log(p / (1 - p));
  return h(
    'p',
    { id: 'served', 'data-raw': Number.isFinite(logit) ? logit : '' },
    `Served label "${served.label ?? ''}" (${probabilities}): raw score log(p / (1 − p)) = ${fmt(logit, 6)}; ` +
      `base + contributions = ${fmt(end, 6)}.`,
  );
}
