// Pipelines: training runs across datasets with their stage (custom status), duration per activity, failures with
// the message, and links to the data version and the model version each produced.
import { get, query } from '../api';
import { bars, chart } from '../charts';
import { fmt, fmtTime, h, note, section, seconds, table } from '../dom';
import { href, Route } from '../router';

interface Progress {
  stage?: string;
  message?: string;
  dataHash?: string;
  version?: number;
  percent?: number;
  trial?: number;
  trials?: number;
  round?: number;
}
interface Result {
  dataset?: string;
  outcome?: string;
  dataHash?: string;
  version?: number;
  promoted?: boolean;
  message?: string;
  trials?: number;
}
interface Instance {
  instanceId: string;
  name: string;
  runtimeStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  input?: { dataset?: string } | null;
  customStatus?: Progress | null;
  output?: Result | null;
  failureDetails?: { errorMessage: string } | null;
}
interface Span {
  name: string;
  scheduledAt: string;
  finishedAt?: string;
  seconds?: number;
  status: string;
  failure?: string;
}

// Instance ids are train-{dataset}-{drop|mon|sched|run}-{key} (InstanceIds.cs in Mlops.Pipelines: the same pattern).
const instanceIdPattern = /^train-(.+?)-(?:drop|mon|sched|run)-(?:[0-9a-f]{16}|\d{8}T\d{6}(?:-[0-9a-f]+)?)$/;
const datasetOf = (i: Instance): string =>
  i.input?.dataset ?? i.output?.dataset ?? instanceIdPattern.exec(i.instanceId)?.[1] ?? i.instanceId;

async function listPipelineRuns(): Promise<Instance[]> {
  const list = await get<{ instances: Instance[] }>(
    '/api/orchestrations' + query({ instanceIdPrefix: 'train-', top: 500 }),
  );
  return list.instances.sort((a, b) => b.createdTime.localeCompare(a.createdTime));
}

export async function pipelinesPage(route: Route): Promise<HTMLElement> {
  if (route.args[0]) return runView(route.args[0]);
  const runs = await listPipelineRuns();
  if (!runs.length) return note('No pipeline runs yet: drop a CSV and its mlops.json into the incoming container.');
  return section(
    'Pipeline runs',
    table(
      ['run', 'dataset', 'status', 'stage', 'progress', 'started', 'took', 'data version', 'model', 'message'],
      runs.map((r) => {
        const p = r.customStatus ?? {},
          o = r.output ?? {};
        const dataHash = o.dataHash ?? p.dataHash,
          version = o.version ?? p.version,
          dataset = datasetOf(r);
        const took = (Date.parse(r.lastUpdatedTime) - Date.parse(r.createdTime)) / 1000;
        return [
          h('a', { href: href('pipelines', [r.instanceId]) }, r.instanceId),
          dataset,
          h('span', { class: 'status ' + r.runtimeStatus.toLowerCase() }, r.runtimeStatus),
          p.stage ?? '',
          progressText(p),
          fmtTime(r.createdTime),
          seconds(took),
          dataHash ? h('a', { href: href('datasets', [dataset, dataHash]) }, dataHash.slice(0, 12)) : '',
          version ? h('a', { href: href('models', [dataset]) }, 'v' + version) : '',
          r.failureDetails?.errorMessage ?? o.message ?? p.message ?? '',
        ];
      }),
      { id: 'pipeline-runs' },
    ),
  );
}

/** The custom status's percent as a bar, with the sweep's trial and round when it reports them. */
function progressText(p: Progress): HTMLElement {
  const parts = [
    p.trials ? `trial ${p.trial ?? 0}/${p.trials}` : '',
    p.round !== undefined && p.round !== null ? `round ${p.round}` : '',
  ];
  return h(
    'span',
    { class: 'progress' },
    p.percent !== undefined ? h('progress', { max: 100, value: p.percent, title: `${p.percent}%` }) : null,
    ' ',
    parts.filter(Boolean).join(' · '),
  );
}

async function runView(id: string): Promise<HTMLElement> {
  const e = encodeURIComponent(id);
  const [status, timeline] = await Promise.all([
    get<Instance>(`/api/orchestrations/${e}`),
    get<{ activities: Span[] }>(`/api/orchestrations/${e}/activities`),
  ]);
  const spans = timeline.activities;
  const totals = new Map<string, number>();
  for (const s of spans) totals.set(s.name, (totals.get(s.name) ?? 0) + (s.seconds ?? 0));
  const names = [...totals.keys()];
  const o = status.output ?? {},
    p = status.customStatus ?? {};
  const dataset = datasetOf(status);
  return h(
    'div',
    { class: 'pipeline' },
    h('h1', {}, id),
    h('p', {}, `${status.runtimeStatus} · stage ${p.stage ?? '–'} · ${o.message ?? p.message ?? ''}`),
    status.failureDetails ? h('p', { class: 'error' }, status.failureDetails.errorMessage) : null,
    h(
      'p',
      {},
      (o.dataHash ?? p.dataHash)
        ? h('a', { href: href('datasets', [dataset, (o.dataHash ?? p.dataHash)!]) }, 'data version')
        : null,
      ' ',
      (o.version ?? p.version) ? h('a', { href: href('models', [dataset]) }, `model v${o.version ?? p.version}`) : null,
      ' ',
      h('a', { href: href('runs', [], { pipeline: id }) }, 'trials'),
      ' ',
      h('a', { href: href('sweep', [id]) }, 'sweep'),
    ),
    section(
      'Time per activity',
      names.length
        ? chart(
            bars(
              names,
              names.map((n) => Number((totals.get(n) ?? 0).toFixed(2))),
              { horizontal: true, name: 'seconds' },
            ),
            { id: 'activity-chart', height: 28 * names.length + 48 },
          ).box
        : note('No activities yet.'),
    ),
    section(
      'Activities',
      table(
        ['activity', 'scheduled', 'took', 'status', 'failure'],
        spans.map((s) => [s.name, fmtTime(s.scheduledAt), seconds(s.seconds), s.status, s.failure ?? '']),
        { id: 'activities' },
      ),
    ),
  );
}
