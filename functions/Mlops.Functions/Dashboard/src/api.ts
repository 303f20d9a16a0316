// Every data call goes through here: it sends the key kept in this tab's session storage, and turns a 401/403 into
// a trip to the sign-in form with the server's message (e.g. "this route needs the master key").

const keyName = 'mlops.key';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Takes ?code= from the address on first load (as the Functions host accepts it), then keeps it for the tab only. */
export function adoptKeyFromUrl(): void {
  const url = new URL(location.href);
  const code = url.searchParams.get('code');
  if (!code) return;
  sessionStorage.setItem(keyName, code);
  url.searchParams.delete('code');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

export const getKey = (): string | null => sessionStorage.getItem(keyName);
export const setKey = (key: string): void => sessionStorage.setItem(keyName, key);
export const clearKey = (): void => sessionStorage.removeItem(keyName);

type AuthFailure = (status: number, message: string) => void;
let onAuthFailure: AuthFailure = () => {};
export function whenUnauthorized(handler: AuthFailure): void {
  onAuthFailure = handler;
}

// The Functions host answers a missing, wrong or insufficient key with an empty 401 (as Azure does), so the page says
// what the key must be: reads take the function key, changes (every non-GET call the dashboard makes) the master key.
function unauthorizedMessage(method: string): string {
  return method === 'GET'
    ? 'Invalid function key: sign in with the function key (or the master key).'
    : 'Invalid key for this action: it needs the master key.';
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = getKey();
  if (key) headers['x-functions-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (response.ok) return json as T;
  const error = json?.error ?? {};
  const message: string =
    error.message ??
    (response.status === 401 ? unauthorizedMessage(method) : `${method} ${path}: HTTP ${response.status}`);
  if (response.status === 401 || response.status === 403) onAuthFailure(response.status, message);
  throw new ApiError(response.status, error.code ?? 'http', message);
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => call<T>('POST', path, body ?? {});

/** A query string from the defined, non-empty values. */
export function query(values: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}
