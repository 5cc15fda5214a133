/**
 * The page's only way to the gateway: same-origin fetches carrying the session cookie (never a
 * token: the page holds none), JSON in and out, RFC 9457 problems turned into `Problem` errors.
 */

/** A refused or failed call: the server's problem document, shown to the user by its `detail`. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'Problem';
  }
}

let onUnauthorized: () => void = () => {};

/** Called once by the app: any 401 means the session ended (revoked, expired, signed out elsewhere). */
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export interface CallInit {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Do not treat a 401 as the end of the session (the sign-in exchange and the first /me). */
  quiet401?: boolean;
}

export async function api<T>(path: string, init: CallInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (init.body !== undefined) {
    // A JSON body is what the CSRF guard expects of a write; the browser adds Origin and Sec-Fetch-Site.
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method: init.method ?? 'GET', headers, body, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
  } catch {
    throw new Problem(0, 'network', 'The gateway cannot be reached. Is it running?');
  }
  if (res.status === 401 && !init.quiet401) onUnauthorized();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const p = (json ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
    const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `HTTP ${res.status}`;
    throw new Problem(res.status, typeof p.code === 'string' ? p.code : 'http_' + res.status, detail);
  }
  return json as T;
}

/** A path segment from a value (ids, names): encoded, so a value can never change the path. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : '?' + s;
}
