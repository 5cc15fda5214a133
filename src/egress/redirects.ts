/**
 * Redirects, followed by the guard itself so that every hop is checked again (an allowed server
 * answering `Location: http://127.0.0.1/` is the classic SSRF bypass). Decides the next hop's URL,
 * method and body, and drops credentials and cookies on a cross-origin hop. No I/O.
 */

export interface Hop {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/** Headers that carry credentials: never sent to another origin than the one they were meant for. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$|token|secret|signature|password|session|api-?key/i;

/** Headers that describe the body: dropped when a redirect turns the request into a GET. */
const BODY_HEADER = /^content-/i;

export function isRedirect(status: number, location: string | undefined): location is string {
  return REDIRECT_STATUS.has(status) && location !== undefined && location !== '';
}

/**
 * The next hop after a redirect from `from` (already parsed). Returns null when the Location
 * cannot be resolved against it (the caller refuses it as unparseable).
 */
export function nextHop(hop: Hop, from: URL, status: number, location: string): Hop | null {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return null;
  }
  // RFC 9110 15.4: 303 becomes GET; 301/302 after POST become GET too (what every client does).
  const toGet = (status === 303 && hop.method !== 'HEAD') || ((status === 301 || status === 302) && hop.method === 'POST');
  const crossOrigin = to.origin !== from.origin;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(hop.headers)) {
    if (crossOrigin && CREDENTIAL_HEADER.test(name)) continue;
    if (toGet && BODY_HEADER.test(name)) continue;
    headers[name] = value;
  }
  return { url: to.href, method: toGet ? 'GET' : hop.method, headers, body: toGet ? undefined : hop.body };
}
