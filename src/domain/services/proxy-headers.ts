/**
 * Which headers cross the reverse proxy, each way. Pure functions over plain header objects.
 * Towards the service: never the client's credentials, never its claims about where it came from
 * (X-Forwarded-* and Forwarded are ours to set), never hop-by-hop headers (RFC 9110 7.6.1).
 * Towards the client: no hop-by-hop headers and no CORS headers (CORS is decided at the door).
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

/** Hop-by-hop (RFC 9110 7.6.1, plus the non-standard ones seen in the wild). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * Never forwarded to a service. Credential leak: the client's bearer token is for moat, and a
 * service (or whoever reads its logs) must not be able to replay it against the gateway. Spoofing:
 * a client's own X-Forwarded-For/Forwarded/X-Real-IP would let it pose as another address.
 * `expect`: moat answers 100-continue itself. `host`: the service's own authority is sent.
 */
const REQUEST_DROP = new Set([...HOP_BY_HOP, 'authorization', 'host', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'expect', 'x-request-id']);
const RESPONSE_DROP = new Set([...HOP_BY_HOP, 'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-expose-headers', 'access-control-max-age', 'x-request-id']);

/** Header names listed in a Connection header are hop-by-hop too (RFC 9110 7.6.1). */
function connectionTokens(value: string | string[] | undefined): string[] | null {
  if (value === undefined) return null;
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

/** Headers for the request to the service. */
export function requestHeaders(incoming: HeaderBag, fwd: ForwardedFor): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const extra = connectionTokens(incoming['connection']);
  for (const name in incoming) {
    const value = incoming[name];
    // HTTP/2 pseudo-headers (:path, :authority, ...) are the client's connection to moat, not the service's.
    if (value === undefined || name.charCodeAt(0) === 58 /* : */) continue;
    if (REQUEST_DROP.has(name)) continue;
    if (extra !== null && extra.includes(name)) continue;
    out[name] = value;
  }
  out['x-forwarded-for'] = fwd.client;
  out['x-forwarded-proto'] = fwd.proto;
  if (fwd.host !== undefined) out['x-forwarded-host'] = fwd.host;
  out['x-request-id'] = fwd.requestId;
  return out;
}

/** Headers of the service's response that go back to the client. */
export function responseHeaders(incoming: HeaderBag): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const extra = connectionTokens(incoming['connection']);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || RESPONSE_DROP.has(name)) continue;
    if (extra !== null && extra.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Path traversal out of the baseUrl's path: a dot segment, plain or percent-encoded, with `/`, `\`
 * or their encodings around it, would let `/svc/x/../admin` reach what the prefix was meant to fence.
 */
const DOT_SEGMENT = /(?:^|\/|\\|%2f|%5c)(?:\.|%2e){1,2}(?:\/|\\|%2f|%5c|$)/i;

export function hasDotSegment(path: string): boolean {
  const q = path.indexOf('?');
  return DOT_SEGMENT.test(q < 0 ? path : path.slice(0, q));
}
