// A virtualized table: fixed row height, only the rows in view (plus a margin) are in the DOM, so 10,000 rows
// scroll as smoothly as 10.
import { h } from '../dom';

export interface Column<T> {
  id: string;
  label: string;
  value: (row: T) => unknown;
  render?: (row: T) => Node | string;
  width?: number;
}

const rowHeight = 28;
const overscan = 10;

export function virtualTable<T>(
  rows: T[],
  columns: Column<T>[],
  options: { rowKey: (row: T) => string; onSort?: (column: string) => void; sort?: string },
): HTMLElement {
  const template = columns.map((c) => (c.width ?? 120) + 'px').join(' ');
  const header = h(
    'div',
    { class: 'vt-row vt-head', role: 'row' },
    columns.map((c) => {
      const sorted = options.sort?.split(' ')[0] === c.id ? (options.sort.endsWith('desc') ? ' ▼' : ' ▲') : '';
      return h(
        'div',
        {
          class: 'vt-cell',
          role: 'columnheader',
          'data-col': c.id,
          title: c.label,
          onclick: () => options.onSort?.(c.id),
        },
        c.label + sorted,
      );
    }),
  );
  header.style.gridTemplateColumns = template;
  const body = h('div', { class: 'vt-body', role: 'rowgroup' });
  body.style.height = rows.length * rowHeight + 'px';
  const viewport = h('div', { class: 'vt-viewport', role: 'table', 'aria-rowcount': rows.length }, header, body);

  // Rows in the DOM by index: a scroll adds the rows that came into view and drops those that left, so a small
  // scroll touches a few rows, not the whole window.
  const shown = new Map<number, HTMLElement>();
  const rowAt = (i: number): HTMLElement => {
    const row = rows[i];
    const line = h(
      'div',
      { class: 'vt-row', role: 'row', 'data-key': options.rowKey(row) },
      columns.map((c) =>
        h('div', { class: 'vt-cell', 'data-col': c.id }, c.render ? c.render(row) : String(c.value(row) ?? '')),
      ),
    );
    line.style.gridTemplateColumns = template;
    line.style.transform = `translateY(${i * rowHeight}px)`;
    return line;
  };
  let pending = false;
  const draw = () => {
    pending = false;
    const top = viewport.scrollTop;
    const from = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const to = Math.min(rows.length, Math.ceil((top + viewport.clientHeight) / rowHeight) + overscan);
    for (const [i, line] of shown)
      if (i < from || i >= to) {
        line.remove();
        shown.delete(i);
      }
    const fragment = document.createDocumentFragment();
    for (let i = from; i < to; i++)
      if (!shown.has(i)) {
        const line = rowAt(i);
        shown.set(i, line);
        fragment.append(line);
      }
    body.append(fragment);
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  viewport.addEventListener('scroll', schedule, { passive: true });
  // First draw once the viewport has a height (it is attached after this returns).
  schedule();
  new ResizeObserver(schedule).observe(viewport);
  return viewport;
}
