// Batch scoring jobs (issue 20): per model, every job with its progress, status, error count, ETA while it runs and
// the failure message; a job's page lists its output parts, errors blob and manifest. Pages with a running job refresh
// themselves in place every few seconds until nothing runs.
import { get } from '../api';
import { fmt, fmtTime, h, note, seconds, section, table } from '../dom';
import { href, Route } from '../router';

/** A job as GET /api/models/{model}/batch lists it. */
export interface BatchJob {
  jobId: string;
  model: string;
  version?: number | null;
  input: string;
  status: 'Pending' | 'Running' | 'Completed' | 'Failed' | string;
  rowsScored?: number | null;
  rowsTotal?: number | null;
  errors?: number | null;
  percent?: number | null;
  etaSeconds?: number | null;
  startedUtc?: string | null;
  finishedUtc?: string | null;
  output?: string | null;
  manifest?: unknown;
  failure?: string | null;
}

/** GET /api/models/{model}/batch/{jobId}: the job, its output parts and the blob of rows that could not be scored. */
export interface BatchJobDetail extends BatchJob {
  parts?: string[] | null;
  errorsBlob?: string | null;
}

interface ModelSummary {
  model: string;
}

const refreshMs = 3000;
const active = (job: BatchJob): boolean => job.status === 'Pending' || job.status === 'Running';

export async function batchPage(route: Route): Promise<HTMLElement> {
  const [model, jobId] = route.args;
  if (model && jobId) return jobView(model, jobId);
  const models = model ? [model] : (await get<ModelSummary[]>('/api/models')).map((m) => m.model);
  if (!models.length) return note('No models registered yet: batch jobs score a registered model.');
  const views = await Promise.all(models.map((m) => modelJobs(m, !!model)));
  return h(
    'div',
    { class: 'batch' },
    h('h1', {}, model ? `Batch jobs · ${model}` : 'Batch jobs'),
    note(
      'Start a job by dropping a CSV at scoring/{model}/{name}.csv, with POST /api/models/{model}/batch, or `mlops batch submit`.',
    ),
    views,
  );
}

/** One model's jobs, newest first; refreshed in place while one of them is pending or running. */
async function modelJobs(model: string, alone: boolean): Promise<HTMLElement> {
  const box = h('div', { class: 'batch-jobs', 'data-model': model });
  const fill = (jobs: BatchJob[]) =>
    box.replaceChildren(
      jobs.length ? jobsTable(model, jobs) : note(alone ? 'No batch jobs for this model yet.' : 'No jobs.'),
    );
  const view = section(model, box);
  view.querySelector('h2')!.replaceChildren(h('a', { href: href('batch', [model]) }, model));
  try {
    const jobs = await listJobs(model);
    fill(jobs);
    if (jobs.some(active))
      keepFresh(box, async () => {
        const next = await listJobs(model);
        fill(next);
        return next.some(active);
      });
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e)));
  }
  return view;
}

async function listJobs(model: string): Promise<BatchJob[]> {
  const answer = await get<{ jobs?: BatchJob[] }>(`/api/models/${encodeURIComponent(model)}/batch`);
  return [...(answer?.jobs ?? [])].sort((a, b) => (b.startedUtc ?? '').localeCompare(a.startedUtc ?? ''));
}

function jobsTable(model: string, jobs: BatchJob[]): HTMLTableElement {
  return table(
    ['job', 'input', 'version', 'status', 'progress', 'errors', 'ETA', 'started', 'finished', 'failure'],
    jobs.map((j) => [
      h('a', { href: href('batch', [model, j.jobId]) }, j.jobId),
      j.input,
      j.version ?? '',
      statusText(j),
      progress(j),
      h('span', { class: j.errors ? 'fail' : '', 'data-errors': j.errors ?? 0 }, j.errors ?? 0),
      j.status === 'Running' ? seconds(j.etaSeconds) : '',
      fmtTime(j.startedUtc),
      fmtTime(j.finishedUtc),
      j.failure ? h('span', { class: 'error' }, j.failure) : '',
    ]),
    { id: 'batch-jobs-' + model, class: 'grid batch-table' },
  );
}

function statusText(job: BatchJob): HTMLElement {
  return h('span', { class: 'status ' + job.status.toLowerCase(), 'data-status': job.status }, job.status);
}

/** A progress bar with "rows scored / rows total": the total is unknown until the job has planned its chunks. */
function progress(job: BatchJob): HTMLElement {
  const percent =
    job.percent ??
    (job.rowsTotal ? (100 * (job.rowsScored ?? 0)) / job.rowsTotal : job.status === 'Completed' ? 100 : 0);
  const bar = h('progress', { max: 100, value: Math.max(0, Math.min(100, percent)), 'data-percent': fmt(percent, 4) });
  const rows =
    job.rowsTotal === null || job.rowsTotal === undefined
      ? `${job.rowsScored ?? 0} rows (planning…)`
      : `${job.rowsScored ?? 0} / ${job.rowsTotal} rows`;
  return h('span', { class: 'progress' }, bar, ` ${fmt(percent, 3)}% · ${rows}`);
}

async function jobView(model: string, jobId: string): Promise<HTMLElement> {
  const path = `/api/models/${encodeURIComponent(model)}/batch/${encodeURIComponent(jobId)}`;
  const box = h('div', { id: 'batch-job', 'data-job': jobId });
  const fill = (job: BatchJobDetail) => box.replaceChildren(...jobDetail(job));
  const job = await get<BatchJobDetail>(path);
  fill(job);
  if (active(job))
    keepFresh(box, async () => {
      const next = await get<BatchJobDetail>(path);
      fill(next);
      return active(next);
    });
  return h(
    'div',
    { class: 'batch' },
    h('h1', {}, h('a', { href: href('batch', [model]) }, model), ` · batch job ${jobId}`),
    box,
  );
}

function jobDetail(job: BatchJobDetail): HTMLElement[] {
  const facts: [string, Node | string | number][] = [
    ['status', statusText(job)],
    ['progress', progress(job)],
    ['input', job.input],
    ['model version', job.version ?? 'not resolved yet'],
    ['errors', job.errors ?? 0],
    ['started', fmtTime(job.startedUtc)],
    ['finished', fmtTime(job.finishedUtc)],
  ];
  if (job.status === 'Running') facts.push(['ETA', seconds(job.etaSeconds)]);
  if (job.output) facts.push(['output', h('code', {}, job.output)]);
  const parts = job.parts ?? [];
  return [
    job.failure ? h('p', { class: 'error', id: 'batch-failure', role: 'alert' }, `Failed: ${job.failure}`) : null,
    section(
      'Job',
      table(
        ['', ''],
        facts.map(([k, v]) => [k, v]),
        { class: 'grid kv', id: 'batch-facts' },
      ),
    ),
    section(
      `Output parts (${parts.length})`,
      parts.length
        ? h(
            'ol',
            { id: 'batch-parts' },
            parts.map((p) => h('li', {}, h('code', {}, p))),
          )
        : note(active(job) ? 'No part written yet.' : 'No parts.'),
    ),
    section(
      'Rows that could not be scored',
      job.errorsBlob
        ? h(
            'p',
            { id: 'batch-errors-blob' },
            h('code', {}, job.errorsBlob),
            ` (${job.errors ?? 0} rows: row number, column, problem)`,
          )
        : note(job.errors ? `${job.errors} rows; the errors blob is not written yet.` : 'None.'),
    ),
    section('Manifest', manifestView(job.manifest)),
  ].filter((e): e is HTMLElement => e !== null);
}

/** The manifest as the API gives it: a blob name, or the manifest itself (model, version, rows, errors, parts, timing). */
function manifestView(manifest: unknown): HTMLElement {
  if (manifest === null || manifest === undefined) return note('Written when the job completes.');
  if (typeof manifest === 'string') return h('p', { id: 'batch-manifest' }, h('code', {}, manifest));
  if (typeof manifest !== 'object' || Array.isArray(manifest))
    return h('pre', { id: 'batch-manifest' }, JSON.stringify(manifest, null, 2));
  return table(
    ['', ''],
    Object.entries(manifest as Record<string, unknown>).map(([k, v]) => [
      k,
      typeof v === 'object' && v !== null ? h('code', {}, JSON.stringify(v)) : fmt(v),
    ]),
    { class: 'grid kv', id: 'batch-manifest' },
  );
}

/**
 * Calls `refresh` every few seconds while `box` is on screen and its view is still the one in the address bar; stops
 * when refresh says nothing runs any more, or when it fails (the next navigation shows the error).
 */
function keepFresh(box: HTMLElement, refresh: () => Promise<boolean>): void {
  const hash = location.hash;
  const tick = async () => {
    // Pages are built before they are placed, so the first tick comes after a full interval.
    if (!box.isConnected || location.hash !== hash) return;
    let again = false;
    try {
      again = await refresh();
    } catch {
      again = false;
    }
    if (again) setTimeout(tick, refreshMs);
  };
  setTimeout(tick, refreshMs);
}
