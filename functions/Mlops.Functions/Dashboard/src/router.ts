// A tiny hash router: `#/runs?filter=...&cols=...` — the address encodes the whole view so it can be shared.

export interface Route {
  page: string;
  args: string[];
  params: URLSearchParams;
}

export function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search] = hash.split('?', 2);
  const parts = (path || 'runs').split('/').map(decodeURIComponent);
  return { page: parts[0], args: parts.slice(1), params: new URLSearchParams(search ?? '') };
}

export function href(
  page: string,
  args: (string | number)[] = [],
  params: Record<string, string | undefined> = {},
): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return '#/' + [page, ...args.map((a) => encodeURIComponent(String(a)))].join('/') + (s ? '?' + s : '');
}

/** Changes one parameter of the current view without adding a history entry per keystroke or toggle. */
export function setParam(name: string, value: string | undefined): void {
  const r = current();
  if (value) r.params.set(name, value);
  else r.params.delete(name);
  const s = r.params.toString();
  history.replaceState(null, '', '#/' + [r.page, ...r.args.map(encodeURIComponent)].join('/') + (s ? '?' + s : ''));
}
