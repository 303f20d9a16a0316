// Runs: every trial of every pipeline in one virtualized table; the address holds the filter, columns, grouping,
// sort and toggles, so a view can be shared.
import { ApiError, get, query } from '../api';
import { fmt, fmtTime, h, note, section, seconds, table } from '../dom';
import { href, Route, setParam } from '../router';
import { RunList, RunRow } from '../types';
import { Column, virtualTable } from './runsTable';

const columnsKey = 'mlops.runs.cols';
const stats = ['best', 'last', 'min', 'max'] as const;

interface GroupStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}
interface Group {
  label: string;
  count: number;
  runIds: string[];
  metrics: Record<string, GroupStats>;
}

export async function runsPage(route: Route): Promise<HTMLElement> {
  const p = route.params;
  const filter = p.get('filter') ?? '';
  const stat = (p.get('stat') ?? 'best') as (typeof stats)[number];
  const onlyDiff = p.get('diff') === '1';
  const sort = p.get('sort') ?? 'createdAt desc';
  const groupBy = p.get('group') ?? '';

  const filterInput = h('input', {
    id: 'runs-filter',
    type: 'search',
    value: filter,
    placeholder: 'metrics.auc > 0.9 and params.num_leaves < 64',
    spellcheck: false,
  });
  const apply = () => {
    setParam('filter', filterInput.value.trim() || undefined);
    dispatchEvent(new HashChangeEvent('hashchange'));
  };
  filterInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') apply();
  });
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('label', { for: 'runs-filter' }, 'Filter'),
    filterInput,
    h('button', { onclick: apply }, 'Apply'),
  );

  let list: RunList;
  try {
    list = await get<RunList>('/api/runs' + query({ filter, pipeline: p.get('pipeline'), limit: 10000 }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 400)
      return h('div', {}, toolbar, h('p', { class: 'error', id: 'filter-error', role: 'alert' }, e.message));
    throw e;
  }
  const rows = sortRows(list.runs, sort, stat);

  // Columns: chosen ones are remembered (this browser) and carried in the address (shared views).
  const all = [
    ...list.columns.params.map((n) => 'params.' + n),
    ...list.columns.metrics.map((n) => 'metrics.' + n),
    ...(list.columns.curves ?? []).map((n) => 'curves.' + n),
  ];
  const remembered = localStorage.getItem(columnsKey);
  const chosen = new Set((p.get('cols') ?? remembered ?? all.join(',')).split(',').filter((c) => all.includes(c)));
  const differing = new Set(
    all.filter((c) => new Set(rows.map((r) => JSON.stringify(cellValue(r, c, stat) ?? null))).size > 1),
  );
  const visible = all.filter((c) => chosen.has(c) && (!onlyDiff || differing.has(c)));

  const selected = new Set<string>();
  const compareLink = h('a', { id: 'compare-selected', class: 'button disabled', href: '#' }, 'Compare selected');
  const updateCompare = () => {
    const ok = selected.size >= 2 && selected.size <= 10;
    compareLink.className = 'button' + (ok ? '' : ' disabled');
    compareLink.setAttribute('href', ok ? href('compare', [], { ids: [...selected].join(',') }) : '#');
    compareLink.textContent = `Compare selected (${selected.size})`;
  };
  const columns: Column<RunRow>[] = [
    {
      id: 'select',
      label: '',
      width: 32,
      value: () => '',
      render: (r) =>
        h('input', {
          type: 'checkbox',
          checked: selected.has(r.runId),
          'aria-label': 'select ' + r.runId,
          onchange: (e: Event) => {
            (e.target as HTMLInputElement).checked ? selected.add(r.runId) : selected.delete(r.runId);
            updateCompare();
          },
        }),
    },
    {
      id: 'runId',
      label: 'run',
      width: 270,
      value: (r) => r.runId,
      render: (r) => h('a', { href: href('run', [r.runId]) }, r.runId),
    },
    {
      id: 'pipeline',
      label: 'pipeline',
      width: 200,
      value: (r) => r.pipeline,
      render: (r) => h('a', { href: href('sweep', [r.pipeline]) }, r.pipeline),
    },
    {
      id: 'status',
      label: 'status',
      width: 90,
      value: (r) => r.status,
      render: (r) =>
        h('span', { class: 'status ' + r.status }, r.status + (r.prunedAtRound ? ` @${r.prunedAtRound}` : '')),
    },
    { id: 'trainer', label: 'trainer', width: 80, value: (r) => r.trainer },
    { id: 'createdAt', label: 'created', width: 160, value: (r) => fmtTime(r.createdAt) },
    { id: 'trainSeconds', label: 'train', width: 70, value: (r) => seconds(r.trainSeconds) },
    ...visible.map((c) => ({
      id: c,
      label: c.startsWith('curves.') ? `${c.slice(7)} (${stat})` : c.replace(/^(params|metrics)\./, ''),
      width: 110,
      value: (r: RunRow) => fmt(cellValue(r, c, stat)),
    })),
  ];

  const picker = h(
    'details',
    { class: 'picker' },
    h('summary', {}, `Columns (${visible.length}/${all.length})`),
    h(
      'div',
      { class: 'picker-list' },
      all.map((c) =>
        h(
          'label',
          {},
          h('input', {
            type: 'checkbox',
            checked: chosen.has(c),
            'data-col': c,
            onchange: (e: Event) => {
              (e.target as HTMLInputElement).checked ? chosen.add(c) : chosen.delete(c);
              const value = all.filter((x) => chosen.has(x)).join(',');
              localStorage.setItem(columnsKey, value);
              setParam('cols', value);
              dispatchEvent(new HashChangeEvent('hashchange'));
            },
          }),
          ' ',
          c,
        ),
      ),
    ),
  );
  const diffToggle = h(
    'label',
    {},
    h('input', {
      type: 'checkbox',
      id: 'only-diff',
      checked: onlyDiff,
      onchange: (e: Event) => {
        setParam('diff', (e.target as HTMLInputElement).checked ? '1' : undefined);
        dispatchEvent(new HashChangeEvent('hashchange'));
      },
    }),
    ' only columns that differ',
  );
  const statSelect = h(
    'select',
    {
      id: 'metric-stat',
      onchange: (e: Event) => {
        const v = (e.target as HTMLSelectElement).value;
        setParam('stat', v === 'best' ? undefined : v);
        dispatchEvent(new HashChangeEvent('hashchange'));
      },
    },
    stats.map((s) => h('option', { value: s, selected: s === stat }, `curves: ${s} over rounds`)),
  );
  const groupSelect = h(
    'select',
    {
      id: 'group-by',
      onchange: (e: Event) => {
        setParam('group', (e.target as HTMLSelectElement).value || undefined);
        dispatchEvent(new HashChangeEvent('hashchange'));
      },
    },
    h('option', { value: '' }, 'no grouping'),
    h('option', { value: 'sweep', selected: groupBy === 'sweep' }, 'group by sweep'),
    list.columns.params.map((n) =>
      h('option', { value: 'params.' + n, selected: groupBy === 'params.' + n }, 'group by ' + n),
    ),
  );
  const onSort = (column: string) => {
    const [current, dir] = sort.split(' ');
    setParam('sort', `${column} ${current === column && dir === 'desc' ? 'asc' : 'desc'}`);
    dispatchEvent(new HashChangeEvent('hashchange'));
  };

  const count = h('span', { id: 'runs-count', 'data-count': rows.length }, `${rows.length} of ${list.total} runs`);
  const controls = h('div', { class: 'toolbar' }, count, picker, diffToggle, statSelect, groupSelect, compareLink);
  const groups = groupBy ? await groupsView(groupBy, filter) : null;
  return h(
    'div',
    { class: 'runs' },
    toolbar,
    controls,
    groups,
    rows.length ? virtualTable(rows, columns, { rowKey: (r) => r.runId, onSort, sort }) : note('No runs match.'),
  );
}

/** A param, a final metric, a per-round statistic of a curve (best/last/min/max), or a fixed field. */
export function cellValue(run: RunRow, column: string, stat: (typeof stats)[number]): unknown {
  if (column.startsWith('params.')) return run.params?.[column.slice(7)];
  if (column.startsWith('metrics.')) return run.metrics?.[column.slice(8)];
  if (column.startsWith('curves.')) return run.curves?.[column.slice(7)]?.[stat];
  return (run as unknown as Record<string, unknown>)[column];
}

function sortRows(rows: RunRow[], sort: string, stat: (typeof stats)[number]): RunRow[] {
  const [column, dir] = sort.split(' ');
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = cellValue(a, column, stat),
      y = cellValue(b, column, stat);
    if (x === y) return 0;
    if (x === undefined || x === null) return 1;
    if (y === undefined || y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

async function groupsView(by: string, filter: string): Promise<HTMLElement> {
  const result = await get<{ groups: Group[] }>('/api/runs/groups' + query({ by, filter }));
  const metrics = [...new Set(result.groups.flatMap((g) => Object.keys(g.metrics ?? {})))];
  const cell = (s?: GroupStats) => (s ? `${fmt(s.mean)} ± ${fmt(s.std, 2)} [${fmt(s.min)}, ${fmt(s.max)}]` : '');
  return section(
    `Grouped by ${by}: mean ± std [min, max]`,
    table(
      ['group', 'runs', ...metrics],
      result.groups.map((g) => [g.label, g.count, ...metrics.map((m) => cell(g.metrics[m]))]),
      { id: 'groups' },
    ),
  );
}
