/**
 * Which headers cross the reverse proxy, each way. Pure functions over plain header objects and
 * flat header lists (name, value, name, value, ...).
 * Towards the service: never the client's credentials, never its claims about where it came from
 * (X-Forwarded-* and Forwarded are ours to set), never Moat's own headers (X-Moat-*, Moat's
 * cookies), never hop-by-hop headers (RFC 9110 7.6.1). Towards the client: no hop-by-hop headers,
 * no CORS headers (CORS is decided at the door), none of the headers that speak for the whole
 * origin (the gateway's security headers win), and cookies confined to the service's own path.
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

/** Hop-by-hop (RFC 9110 7.6.1, plus the non-standard ones seen in the wild). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * Never forwarded to a service. Credential leak: the client's bearer token is for moat, and a
 * service (or whoever reads its logs) must not be able to replay it against the gateway. Spoofing:
 * a client's own X-Forwarded-For/Forwarded/X-Real-IP would let it pose as another address.
 * `expect`: moat answers 100-continue itself. `host`: the service's own authority is sent.
 */
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  'authorization',
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'expect',
  'x-request-id',
]);
/**
 * Never passed from a service to the client. The API, the console and every service share one
 * origin, so a header that speaks for the origin is the gateway's alone:
 * - the gateway's security headers (pipeline.ts) win: a service's `Strict-Transport-Security:
 *   max-age=0` would switch HSTS off for the whole origin, its `X-Frame-Options`/`Referrer-Policy`/
 *   `X-Content-Type-Options`/`Cache-Control` would weaken clickjacking, Referer-leak, MIME-sniffing
 *   and caching protection on responses served from the gateway's origin;
 * - `Clear-Site-Data` would wipe the origin's cookies and storage (a console session with them);
 * - `Service-Worker-Allowed` would let a service's script register a service worker for `/`, which
 *   then intercepts every request to the origin, the API's included;
 * - `Alt-Svc` would send the browser's later requests for the origin to another endpoint;
 * - `Public-Key-Pins`(-Report-Only) could pin the origin to keys the operator does not hold.
 */
const ORIGIN_WIDE = [
  'strict-transport-security',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'cache-control',
  'clear-site-data',
  'service-worker-allowed',
  'alt-svc',
  'public-key-pins',
  'public-key-pins-report-only',
];
const RESPONSE_DROP = new Set([
  ...HOP_BY_HOP,
  ...ORIGIN_WIDE,
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
  'x-request-id',
]);

/**
 * Headers that carry Moat's authority: services are told `X-Moat-Job-Id`, `X-Moat-Progress-Url`,
 * `X-Moat-Progress-Token`, `X-Moat-Workspace`, `X-Moat-Attempt` come from the job dispatcher, and
 * `Moat-Signature` signs what Moat sends. A client's own would be believed: a forged
 * `X-Moat-Progress-Url` made a worker POST to an address of the client's choosing (SSRF through the
 * service). Every `x-moat-*` and `moat-*` header is Moat's to set.
 */
function isMoatHeader(name: string): boolean {
  return name.startsWith('x-moat-') || name.startsWith('moat-');
}

/**
 * Cookie names Moat keeps for itself (a console session), with or without a `__Host-`/`__Secure-`
 * prefix, compared without regard to case (browsers match the prefixes that way).
 */
const MOAT_COOKIE = /^(?:__(?:host|secure)-)?moat/i;

/** Header names listed in a Connection header are hop-by-hop too (RFC 9110 7.6.1). */
function connectionTokens(value: string | string[] | undefined): string[] | null {
  if (value === undefined || value === 'keep-alive' || value === 'close') return null;
  const list = (Array.isArray(value) ? value.join(',') : value).toLowerCase().split(',');
  const out: string[] = [];
  for (const t of list) {
    const s = t.trim();
    if (s !== '' && s !== 'close' && s !== 'keep-alive') out.push(s);
  }
  return out.length > 0 ? out : null;
}

export interface ForwardedFor {
  /** The client address moat believes (see security/client-ip.ts). */
  client: string;
  proto: 'http' | 'https';
  /** The Host the client used (already allowed by the host guard). */
  host: string | undefined;
  requestId: string;
}

/** Headers for the request to the service (as an object: the WebSocket upgrade, the tests). */
export function requestHeaders(incoming: HeaderBag, fwd: ForwardedFor): Record<string, string | string[]> {
  const list = requestHeaderList(incoming, fwd, true);
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1] as string | string[];
  return out;
}

/**
 * Headers for the request to the service as a flat list (name, value, name, value, ...), the form
 * undici takes without building an object. `hasBody` false drops Content-Length: a length with no
 * body behind it would make the service read the next request on the pooled connection as this
 * one's body (desync).
 */
export function requestHeaderList(incoming: HeaderBag, fwd: ForwardedFor, hasBody: boolean): Array<string | string[]> {
  const out: Array<string | string[]> = [];
  const extra = connectionTokens(incoming['connection']);
  for (const name in incoming) {
    const value = incoming[name];
    // HTTP/2 pseudo-headers (:path, :authority, ...) are the client's connection to moat, not the service's.
    if (value === undefined || name.charCodeAt(0) === 58 /* : */) continue;
    if (REQUEST_DROP.has(name) || isMoatHeader(name)) continue;
    if (extra?.includes(name)) continue;
    if (name === 'cookie') {
      const kept = withoutMoatCookies(value);
      if (kept !== null) out.push(name, kept);
      continue;
    }
    if (!hasBody && name === 'content-length') continue;
    out.push(name, value);
  }
  out.push('x-forwarded-for', fwd.client, 'x-forwarded-proto', fwd.proto);
  if (fwd.host !== undefined) out.push('x-forwarded-host', fwd.host);
  out.push('x-request-id', fwd.requestId);
  return out;
}

/**
 * The client's Cookie header without Moat's own cookies (a session cookie is a credential for
 * Moat, like Authorization: a service, or whoever reads its logs, must not be able to replay it).
 * Null when nothing is left.
 */
function withoutMoatCookies(value: string | string[]): string | null {
  const kept: string[] = [];
  for (const header of Array.isArray(value) ? value : [value]) {
    for (const pair of header.split(';')) {
      const p = pair.trim();
      if (p === '' || MOAT_COOKIE.test(p)) continue;
      kept.push(p);
    }
  }
  return kept.length > 0 ? kept.join('; ') : null;
}

/** The path a service's cookies are confined to: its own prefix (RFC 6265 5.1.4 path-match). */
export function cookiePath(service: string): string {
  return `/svc/${service}`;
}

/**
 * A service's Set-Cookie confined to its own `/svc/<name>` path, or null when it is dropped.
 * Cookie tossing between neighbours on one origin: a service must never set or overwrite a cookie
 * outside its path (the console's session cookie above all), so its `Path` is replaced by its own
 * prefix and `Domain` removed (host-only: no sibling or parent domain gets it). Dropped: a nameless
 * cookie (`=x`, or no `=`: browsers send its value bare, so `=moat_session=v` reads as a cookie
 * named moat_session), a `__Host-` cookie (valid only with `Path=/`, so it cannot be confined), and
 * a cookie of Moat's own names.
 */
export function confineCookie(value: string, service: string): string | null {
  const parts = value.split(';');
  const pair = (parts[0] as string).trim();
  const eq = pair.indexOf('=');
  const name = eq < 0 ? '' : pair.slice(0, eq).trim();
  if (name === '' || /^__host-/i.test(name) || MOAT_COOKIE.test(name)) return null;
  const attributes = [pair];
  for (let i = 1; i < parts.length; i++) {
    const attr = (parts[i] as string).trim();
    if (attr === '') continue;
    const key = attr.split('=', 1)[0]?.trim().toLowerCase();
    if (key === 'path' || key === 'domain') continue;
    attributes.push(attr);
  }
  attributes.push(`Path=${cookiePath(service)}`);
  return attributes.join('; ');
}

/**
 * Set on every proxied response. The API, the console and every service share one origin, so a
 * page a service serves (a malicious service, or one with an XSS hole) would run script on the
 * gateway's origin: it could read the console's storage and call the API with the signed-in
 * console session. `sandbox` without `allow-same-origin` gives such a document an opaque origin
 * (RFC: CSP3 sandbox, HTML "sandboxed origin browsing context flag"): its script still runs (a
 * service's own UI keeps working), but its requests to the gateway carry `Origin: null` and
 * `Sec-Fetch-Site: cross-site`, which the origin and CSRF guards refuse, it cannot read the
 * gateway's cookies or storage, and it cannot register a service worker.
 * On every response, not only text/html: the content type is the service's claim, and script
 * also runs in SVG, XHTML and XML documents and in a response without a type that the browser
 * sniffs as HTML; a policy on a JSON or SSE response costs its bytes and nothing else (CSP
 * applies to documents and workers only). A service's own policy, when it sends one, still
 * applies beside this one (every policy is enforced).
 */
export const SERVICE_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';

/**
 * Whether a header of a service's response never reaches the client whatever its value (the
 * gateway's own headers of these names are set without looking at the service's).
 */
export function isDroppedResponseHeader(name: string): boolean {
  return RESPONSE_DROP.has(name);
}

/**
 * The response headers of `service` that go back to the client, from undici's raw list (name,
 * value, ... as Buffers, as received), appended to `out` as a flat list (name, value, ...) that
 * Node's writeHead takes as is, with the sandbox policy after them; no object in between. Returns
 * whether the response has a Content-Length (no length: a stream, its headers sent at once).
 */
export function responseHeaderList(raw: readonly Buffer[], service: string, out: string[]): boolean {
  const length = keptResponseHeaders(raw, service, out);
  out.push('content-security-policy', SERVICE_CSP);
  return length;
}

/** Headers of `service`'s response that go back to the client, as an object (the WebSocket upgrade's 101). */
export function responseHeaders(incoming: HeaderBag, service: string): Record<string, string | string[]> {
  const raw: string[] = [];
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, value);
  }
  const list: string[] = [];
  keptResponseHeaders(raw, service, list);
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/**
 * The one filter of a service's response headers (both forms above): drops what RESPONSE_DROP and
 * the Connection header name, confines Set-Cookie, lower-cases names. Header bytes round-trip
 * through latin1 unchanged (Node writes header strings as latin1). Returns whether a
 * Content-Length is kept.
 */
function keptResponseHeaders(raw: ReadonlyArray<Buffer | string>, service: string, out: string[]): boolean {
  const start = out.length;
  let length = false;
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as Buffer | string;
    const v = raw[i + 1] as Buffer | string;
    const name = (typeof n === 'string' ? n : n.toString('latin1')).toLowerCase();
    const value = typeof v === 'string' ? v : v.toString('latin1');
    if (RESPONSE_DROP.has(name)) {
      if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      continue;
    }
    if (name === 'set-cookie') {
      const c = confineCookie(value, service);
      if (c !== null) out.push(name, c);
      continue;
    }
    if (name === 'content-length') length = true;
    out.push(name, value);
  }
  const extra = connectionTokens(connection);
  if (extra !== null) {
    let w = start;
    for (let r = start; r < out.length; r += 2) {
      if (extra.includes(out[r] as string)) continue;
      out[w++] = out[r] as string;
      out[w++] = out[r + 1] as string;
    }
    out.length = w;
    if (length && !hasName(out, start, 'content-length')) length = false;
  }
  return length;
}

function hasName(list: readonly string[], start: number, name: string): boolean {
  for (let i = start; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}
