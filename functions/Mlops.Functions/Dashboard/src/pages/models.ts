// Models: versions with their gate decisions, aliases, the alias/traffic history ("what served at time T"), the
// live traffic split and serving counters; promote / rollback / approve / reject call the admin API after a confirmation.
import { get, post, query } from '../api';
import { chart } from '../charts';
import { fmt, fmtTime, h, note, section, table } from '../dom';
import { href, Route, setParam } from '../router';
import { explanationsView } from './explain';

interface Gate {
  passed: boolean;
  reasons: string[];
  primaryMetric: string;
  candidate?: number;
  production?: number;
  improvement?: number;
}
interface Version {
  version: number;
  status: string;
  createdAt: string;
  runId?: string;
  metrics: { overall: Record<string, number>; evaluatedRows?: number };
  dataHash?: string;
  codeVersion?: string;
  gate?: Gate;
  approval: string;
  approvalNote?: string;
  aliases: string[];
}
interface State {
  aliases: Record<string, number>;
  revision: number;
  updatedAt: string;
}
interface Details {
  model: string;
  versions: Version[];
  state: State;
}
interface HistoryEntry {
  revision: number;
  at: string;
  kind: string;
  alias?: string;
  fromVersion?: number;
  toVersion?: number;
  actor?: string;
  reason?: string;
  aliases: Record<string, number>;
}
interface Traffic {
  routes: { version: number; weight: number }[];
  shadow: number[];
}
interface LiveVersion {
  version: number;
  weight: number;
  shadow: boolean;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  errorRate: number;
  meanLatencyMs?: number | null;
}
interface Summary {
  model: string;
  latestVersion: number;
  production?: number;
  aliases: Record<string, number>;
  updatedAt?: string;
}

export async function modelsPage(route: Route): Promise<HTMLElement> {
  const model = route.args[0];
  if (!model) {
    const models = await get<Summary[]>('/api/models');
    if (!models.length) return note('No models registered yet.');
    return section(
      'Models',
      table(
        ['model', 'latest', 'production', 'aliases', 'updated'],
        models.map((m) => [
          h('a', { href: href('models', [m.model]) }, m.model),
          m.latestVersion,
          m.production ?? '',
          aliasText(m.aliases),
          fmtTime(m.updatedAt),
        ]),
        { id: 'models' },
      ),
    );
  }
  const m = encodeURIComponent(model);
  const [details, history, traffic, live] = await Promise.all([
    get<Details>(`/api/models/${m}`),
    get<HistoryEntry[]>(`/api/models/${m}/history`),
    get<Traffic>(`/api/models/${m}/traffic`),
    get<{ seconds: number; versions: LiveVersion[] }>(`/api/models/${m}/traffic/live`),
  ]);
  const outcome = h('p', { id: 'action-result', role: 'status' });
  const act = async (what: string, path: string, body: unknown) => {
    if (!confirm(`${what}?`)) return;
    try {
      await post(path, body);
      dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) {
      // 401/403 already sent the user to the sign-in form; other refusals (a failed gate: 409) are shown here.
      outcome.className = 'error';
      outcome.textContent = e instanceof Error ? e.message : String(e);
    }
  };
  const versions = [...details.versions].sort((a, b) => b.version - a.version);
  const rows = versions.map((v) => [
    v.version,
    v.status,
    fmtTime(v.createdAt),
    h('span', { class: 'aliases', 'data-version': v.version }, v.aliases.join(', ')),
    v.runId ? h('a', { href: href('run', [v.runId]) }, v.runId) : '',
    metricText(v.metrics, v.gate?.primaryMetric),
    gateText(v.gate),
    v.approval + (v.approvalNote ? `: ${v.approvalNote}` : ''),
    h(
      'span',
      { class: 'actions' },
      v.aliases.includes('production') ? null : promoteButton(v, model, act),
      v.approval === 'pending'
        ? h(
            'button',
            {
              'data-action': 'approve',
              'data-version': v.version,
              onclick: () =>
                act(`Approve version ${v.version}`, `/api/models/${m}/versions/${v.version}/approve`, {
                  reason: 'dashboard',
                }),
            },
            'Approve',
          )
        : null,
      v.approval === 'pending'
        ? h(
            'button',
            {
              'data-action': 'reject',
              'data-version': v.version,
              onclick: () =>
                act(`Reject version ${v.version}`, `/api/models/${m}/versions/${v.version}/reject`, {
                  reason: 'dashboard',
                }),
            },
            'Reject',
          )
        : null,
    ),
  ]);
  const rollback = h(
    'button',
    {
      id: 'rollback',
      onclick: () =>
        act(`Roll ${model} back to the previous production version`, `/api/models/${m}/rollback`, {
          reason: 'dashboard',
        }),
    },
    'Roll back production',
  );
  return h(
    'div',
    { class: 'models' },
    h('h1', {}, model),
    h('p', {}, `Aliases: ${aliasText(details.state.aliases)} · revision ${details.state.revision} `, rollback),
    outcome,
    section(
      'Versions',
      table(['version', 'status', 'created', 'aliases', 'run', 'metrics', 'gate', 'approval', ''], rows, {
        id: 'versions',
      }),
    ),
    await explainedVersionView(model, versions, details.state.aliases, route.params.get('v')),
    h('div', { class: 'row' }, trafficView(traffic, live), await servedAtView(m, route.params.get('at'))),
    section(
      'History',
      timeline(history),
      table(
        ['revision', 'at', 'change', 'alias', 'version', 'by', 'reason', 'aliases after'],
        [...history]
          .reverse()
          .map((e) => [
            e.revision,
            fmtTime(e.at),
            e.kind,
            e.alias ?? '',
            `${e.fromVersion ?? '–'} → ${e.toVersion ?? '–'}`,
            e.actor ?? '',
            e.reason ?? '',
            aliasText(e.aliases),
          ]),
        { id: 'history' },
      ),
    ),
  );
}

/** The configured split, with each version's live numbers as this host served them (every host counts its own). */
function trafficView(traffic: Traffic, live: { seconds: number; versions: LiveVersion[] }): HTMLElement {
  const byVersion = new Map(live.versions.map((v) => [`${v.version}/${v.shadow}`, v]));
  const row = (version: number, weight: number | string, shadow: boolean) => {
    const v = byVersion.get(`${version}/${shadow}`);
    return [
      version,
      weight,
      v ? fmt(v.requestsPerSecond, 3) : '0',
      v ? `${fmt(100 * v.errorRate, 3)}%` : '',
      v?.meanLatencyMs !== undefined && v?.meanLatencyMs !== null ? `${fmt(v.meanLatencyMs, 3)} ms` : '',
    ];
  };
  return section(
    `Traffic (live numbers: this host, last ${live.seconds / 60} min)`,
    table(
      ['version', 'weight %', 'requests/s', 'error rate', 'mean latency'],
      [
        ...traffic.routes.map((r) => row(r.version, r.weight, false)),
        ...traffic.shadow.map((v) => row(v, 'shadow', true)),
      ],
      { id: 'traffic' },
    ),
  );
}

/** Explanations of one version (?v=, else production, else the latest), with a picker to switch. */
async function explainedVersionView(
  model: string,
  versions: Version[],
  aliases: Record<string, number>,
  chosen: string | null,
): Promise<HTMLElement> {
  if (!versions.length) return note('No versions to explain.');
  const wanted = Number(chosen) || aliases['production'] || versions[0].version;
  const version = versions.some((v) => v.version === wanted) ? wanted : versions[0].version;
  const picker = h(
    'select',
    { id: 'explain-version' },
    versions.map((v) => h('option', { value: v.version }, `v${v.version}`)),
  );
  picker.value = String(version);
  picker.addEventListener('change', () => {
    setParam('v', picker.value);
    dispatchEvent(new HashChangeEvent('hashchange'));
  });
  const view = await explanationsView(model, version);
  view.id = 'explanations';
  view.querySelector('h2')?.append(' ', picker);
  return view;
}

/** "What served at time T": the state in force at the chosen instant. */
async function servedAtView(model: string, at: string | null): Promise<HTMLElement> {
  const input = h('input', { type: 'datetime-local', id: 'served-at', step: 1, value: at ? at.slice(0, 19) : '' });
  const go = h(
    'button',
    {
      onclick: () => {
        setParam('at', input.value ? new Date(input.value + 'Z').toISOString() : undefined);
        dispatchEvent(new HashChangeEvent('hashchange'));
      },
    },
    'Show',
  );
  let state: HTMLElement = note('Pick a time (UTC).');
  if (at) {
    const s = await get<{ aliases?: Record<string, number>; traffic?: unknown; revision?: number }>(
      `/api/models/${model}/history` + query({ at }),
    );
    state = h(
      'p',
      { id: 'served-at-state' },
      `At ${fmtTime(at)}: ${aliasText(s.aliases ?? {})} (revision ${s.revision ?? 0})`,
    );
  }
  return section('What served at time T', h('div', { class: 'toolbar' }, input, go), state);
}

/** Which version each alias pointed at over time: one step line per alias, from the history's "aliases after". */
function timeline(history: HistoryEntry[]): HTMLElement | null {
  if (!history.length) return null;
  const aliases = [...new Set(history.flatMap((e) => Object.keys(e.aliases)))];
  const now = new Date().toISOString();
  const series = aliases.map((alias) => ({
    type: 'line',
    name: alias,
    step: 'end',
    showSymbol: true,
    data: [
      ...history.map((e) => [e.at, e.aliases[alias] ?? null]),
      [now, history[history.length - 1].aliases[alias] ?? null],
    ],
  }));
  return chart(
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 24, top: 32, bottom: 32 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: 'version', minInterval: 1 },
      series,
    },
    { id: 'alias-timeline', height: 200 },
  ).box;
}

const aliasText = (aliases: Record<string, number>): string =>
  Object.entries(aliases)
    .map(([a, v]) => `${a} → v${v}`)
    .join(', ') || 'none';

/** The gate's metric first, then the others, at most five. */
function metricText(metrics: Version['metrics'], primary?: string): string {
  const entries = Object.entries(metrics?.overall ?? {}).sort(
    ([a], [b]) => Number(b === primary) - Number(a === primary),
  );
  return entries
    .slice(0, 5)
    .map(([k, v]) => `${k} ${fmt(v, 3)}`)
    .join(' · ');
}

/** Promote; a version whose gate failed can be promoted only by overriding the gate, which the confirmation says. */
function promoteButton(
  v: Version,
  model: string,
  act: (what: string, path: string, body: unknown) => void,
): HTMLElement {
  const path = `/api/models/${encodeURIComponent(model)}/promote`;
  if (v.gate && !v.gate.passed)
    return h(
      'button',
      {
        'data-action': 'promote-force',
        'data-version': v.version,
        onclick: () =>
          act(
            `Version ${v.version} FAILED its gate (${v.gate!.reasons[0] ?? ''}). Promote it to production anyway`,
            path,
            { version: v.version, force: true, reason: 'dashboard: gate overridden' },
          ),
      },
      'Promote (override gate)',
    );
  return h(
    'button',
    {
      'data-action': 'promote',
      'data-version': v.version,
      onclick: () =>
        act(`Promote version ${v.version} of ${model} to production`, path, {
          version: v.version,
          reason: 'dashboard',
        }),
    },
    'Promote',
  );
}

function gateText(gate?: Gate): HTMLElement | string {
  if (!gate) return '';
  const numbers = `${gate.primaryMetric}: ${fmt(gate.candidate, 4)} vs ${fmt(gate.production, 4)} (${gate.improvement !== undefined && gate.improvement !== null ? (gate.improvement >= 0 ? '+' : '') + fmt(gate.improvement, 3) : 'no production'})`;
  return h(
    'span',
    { class: gate.passed ? 'pass' : 'fail', title: gate.reasons.join('\n') },
    (gate.passed ? 'passed · ' : 'failed · ') + numbers,
  );
}
