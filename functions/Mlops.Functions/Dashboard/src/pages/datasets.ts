// Datasets: versions with their profile (a histogram per column), validation verdicts, drift against the previous
// version, and quarantined files with their reports.
import { get } from '../api';
import { bars, chart } from '../charts';
import { fmt, fmtTime, h, note, section, table } from '../dom';
import { href, Route } from '../router';

/** A line of GET /api/datasets. */
interface DatasetSummary {
  name: string;
  versions: number;
  latestHash: string;
  latestIngestedAt: string;
  quarantined: number;
}
/** A line of GET /api/drops/refused. */
interface RefusedDrop {
  dataset?: string;
  blob: string;
  reason: string;
  at: string;
}
interface Version {
  dataset: string;
  hash: string;
  sequence: number;
  rows: number;
  columns: number;
  bytes: number;
  ingestedAt: string;
  outcome: string;
  sourceName?: string;
  errors: number;
  warnings: number;
  referenceHash?: string;
}
interface Drift {
  column: string;
  method: string;
  statistic: number;
  pValue?: number;
  threshold: number;
  drifted: boolean;
  insufficientData: boolean;
  referenceCount: number;
  currentCount: number;
}
interface Details {
  version: Version;
  profile?: { columns?: Column[] } & Record<string, unknown>;
  validation?: { anomalies?: Anomaly[]; drift?: Drift[]; referenceHash?: string } | null;
}
interface Column {
  name: string;
  kind?: string;
  histogram?: { edges?: number[]; counts?: number[]; bins?: { lower?: number; upper?: number; count: number }[] };
  topValues?: { value: string; count: number }[];
  [k: string]: unknown;
}
interface Anomaly {
  column?: string;
  code: string;
  severity: string;
  message: string;
  line?: number;
}

export async function datasetsPage(route: Route): Promise<HTMLElement> {
  const [dataset, hash] = route.args;
  if (!dataset) {
    const [datasets, refused] = await Promise.all([
      get<DatasetSummary[]>('/api/datasets'),
      get<RefusedDrop[]>('/api/drops/refused'),
    ]);
    const listing = datasets.length
      ? section(
          'Datasets',
          table(
            ['dataset', 'versions', 'quarantined', 'latest version', 'ingested'],
            datasets.map((d) => [
              h('a', { href: href('datasets', [d.name]) }, d.name),
              d.versions,
              d.quarantined,
              h('a', { href: href('datasets', [d.name, d.latestHash]) }, d.latestHash.slice(0, 12)),
              fmtTime(d.latestIngestedAt),
            ]),
            { id: 'datasets' },
          ),
        )
      : note('No datasets yet.');
    // Drops that never became a version (a bad dataset name, a sub-folder, not a CSV): kept in the drop container.
    const refusals = refused.length
      ? section(
          'Refused drops',
          table(
            ['dropped', 'blob', 'dataset', 'why'],
            refused.map((r) => [
              fmtTime(r.at),
              r.blob,
              r.dataset ?? '(no usable dataset name)',
              h('span', { class: 'fail' }, r.reason),
            ]),
            { id: 'refused' },
          ),
        )
      : null;
    return h('div', {}, listing, refusals);
  }
  const versions = (await get<Version[]>(`/api/datasets/${encodeURIComponent(dataset)}`)).sort(
    (a, b) => b.sequence - a.sequence,
  );
  const list = section(
    `${dataset}: versions`,
    table(
      ['#', 'version', 'verdict', 'rows', 'columns', 'errors', 'warnings', 'ingested', 'source', 'compared with'],
      versions.map((v) => [
        v.sequence,
        h('a', { href: href('datasets', [dataset, v.hash]) }, v.hash.slice(0, 12)),
        h('span', { class: 'status ' + v.outcome.toLowerCase() }, v.outcome),
        v.rows,
        v.columns,
        v.errors,
        v.warnings,
        fmtTime(v.ingestedAt),
        v.sourceName ?? '',
        v.referenceHash?.slice(0, 12) ?? '',
      ]),
      { id: 'versions' },
    ),
  );
  const chosen = hash ?? versions[0]?.hash;
  return h('div', { class: 'datasets' }, list, chosen ? await versionView(dataset, chosen) : null);
}

async function versionView(dataset: string, hash: string): Promise<HTMLElement> {
  const d = await get<Details>(`/api/datasets/${encodeURIComponent(dataset)}/versions/${encodeURIComponent(hash)}`);
  const anomalies = d.validation?.anomalies ?? [];
  const columns = d.profile?.columns ?? [];
  return h(
    'div',
    {},
    h('h2', {}, `Version ${hash.slice(0, 12)} · ${d.version.outcome}`),
    d.version.outcome.toLowerCase() === 'quarantined'
      ? h('p', { class: 'error' }, 'Quarantined: the file is kept in the quarantine container with this report.')
      : null,
    section(
      'Validation',
      anomalies.length
        ? table(
            ['severity', 'column', 'check', 'line', 'message'],
            anomalies.map((a) => [a.severity, a.column ?? '', a.code, a.line ?? '', a.message]),
            { id: 'anomalies' },
          )
        : note('No anomalies.'),
    ),
    driftView(d.validation?.drift ?? [], d.validation?.referenceHash ?? d.version.referenceHash),
    section('Profile', h('div', { class: 'histograms' }, columns.slice(0, 40).map(columnView))),
  );
}

function driftView(drift: Drift[], reference?: string): HTMLElement {
  if (!drift.length)
    return section('Drift', note(reference ? 'No column compared.' : 'The first version: nothing to compare with.'));
  const sorted = [...drift].sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.statistic - a.statistic);
  return section(
    `Drift against the previous version ${reference?.slice(0, 12) ?? ''}`,
    table(
      ['column', 'test', 'statistic', 'p-value', 'threshold', 'verdict', 'rows (previous → this)'],
      sorted.map((x) => [
        x.column,
        x.method,
        fmt(x.statistic, 3),
        fmt(x.pValue, 3),
        fmt(x.threshold, 3),
        h(
          'span',
          { class: x.drifted ? 'fail' : 'pass' },
          x.insufficientData ? 'too few rows' : x.drifted ? 'drifted' : 'stable',
        ),
        `${x.referenceCount} → ${x.currentCount}`,
      ]),
      { id: 'drift' },
    ),
  );
}

function columnView(c: Column): HTMLElement {
  const hist = c.histogram;
  let labels: string[] = [],
    counts: number[] = [];
  if (hist?.bins) {
    labels = hist.bins.map((b) => fmt(b.lower, 3));
    counts = hist.bins.map((b) => b.count);
  } else if (hist?.counts) {
    counts = hist.counts;
    labels = counts.map((_, i) => fmt(hist.edges?.[i], 3));
  } else if (c.topValues) {
    labels = c.topValues.map((t) => t.value);
    counts = c.topValues.map((t) => t.count);
  }
  const stats = ['count', 'missing', 'mean', 'std', 'min', 'max', 'distinct']
    .filter((k) => typeof c[k] === 'number')
    .map((k) => `${k} ${fmt(c[k], 3)}`)
    .join(' · ');
  return h(
    'div',
    { class: 'histogram' },
    h('h3', {}, c.name, c.kind ? ` (${c.kind})` : ''),
    h('p', { class: 'note' }, stats),
    counts.length ? chart(bars(labels, counts, { everyLabel: false }), { height: 160 }).box : null,
  );
}
