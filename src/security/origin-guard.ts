/**
 * Origin allowlist and CORS, default deny. Cross-site request forgery and browser-driven access:
 * a request carrying an Origin that is neither the gateway's own nor on the list is refused
 * whatever its method, and only listed origins get CORS headers (the exact origin echoed, never
 * `*`). Origins are parsed as RFC 6454 serializations, strictly: only what a browser sends can
 * match. Reads config only.
 */
import { isIP } from 'node:net';
import { GatewayError } from '../errors.js';
import { ownOrigin, type IsHttps } from './own-origin.js';

/** What the origin guard reads: the method and headers (Node's IncomingMessage, or Fastify's request). */
export interface OriginRequest {
  readonly method?: string | undefined;
  readonly headers: {
    readonly origin?: string | undefined;
    readonly host?: string | undefined;
    readonly 'access-control-request-method'?: string | string[] | undefined;
    readonly ':authority'?: string | string[] | undefined;
  };
}

/** What the origin guard writes: CORS headers, and the whole answer to a preflight (Fastify's reply as it is). */
export interface CorsReply {
  header(name: string, value: string): unknown;
  code(status: number): unknown;
  send(): unknown;
}

export interface OriginGuardOptions {
  allowedOrigins: readonly string[];
  /** Whether a request came over HTTPS (the scheme of the gateway's own origin). Default: never. */
  https?: IsHttps;
}

interface Matchers {
  exact: Set<string>;
  /** `scheme://host` whose port may be anything (pattern `scheme://host:*`). */
  anyPort: Set<string>;
  /** `*.` patterns: scheme, the suffix after the wildcard label, and the port ('' = default). */
  label: Array<{ scheme: string; suffix: string; port: string | '*' }>;
}

/** The parts of a serialized origin; `port` is '' when it is the scheme's default (and so not written). */
interface Origin {
  scheme: string;
  host: string;
  port: string;
}

/**
 * The shape of a serialized origin (RFC 6454 6.2): scheme "://" host [":" port], lowercase, nothing
 * else (no path, no userinfo, no percent-encoding, no IPv6 zone id). The parts are checked below.
 */
const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]*))?$/;
const PATTERN = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]*|\*))?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A port as a serializer writes it: 1-65535 in decimal, no leading zero. */
const PORT = /^[1-9][0-9]{0,4}$/;
/** The last label is a number (decimal or hex): the URL parser reads the host as an IPv4 address. */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;
/** Ports a serialized origin leaves out (RFC 6454 6.2: written only when not the scheme's default). */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' };

function portValid(port: string): boolean {
  return PORT.test(port) && Number(port) <= 65535;
}

/** The canonical text of an IPv6 literal (lowercase, zeros compressed), brackets included. */
function canonicalV6(bracketed: string): string | undefined {
  const inner = bracketed.slice(1, -1);
  if (isIP(inner) !== 6) return undefined;
  try {
    return new URL(`http://${bracketed}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * A host exactly as a browser serializes it: LDH labels of 1-63 characters (no empty label, so no
 * leading, doubled or trailing dot), at most 253 characters; a dotted-quad IPv4 address without
 * leading zeros when the last label is numeric (a browser rewrites 127.1 or 0x7f.0.0.1); a bracketed
 * IPv6 address in its canonical form. Anything else never comes from a browser and matches nothing.
 */
function hostValid(host: string): boolean {
  if (host.charCodeAt(0) === 91 /* [ */) return canonicalV6(host) === host;
  if (host.length > 253) return false;
  const labels = host.split('.');
  if (NUMERIC_LABEL.test(labels[labels.length - 1] as string)) return isIP(host) === 4;
  for (const label of labels) if (!LABEL.test(label)) return false;
  return true;
}

/** Parses a serialized origin strictly; undefined for anything a browser would not send. */
function parseOrigin(value: string): Origin | undefined {
  const m = ORIGIN.exec(value);
  if (!m) return undefined;
  const [, scheme, host, port] = m as unknown as [string, string, string, string | undefined];
  // 99999, 0, 080, an empty port, or the default port written out: not a serialized origin.
  if (port !== undefined && (!portValid(port) || DEFAULT_PORTS[scheme] === port)) return undefined;
  if (!hostValid(host)) return undefined;
  return { scheme, host, port: port ?? '' };
}

export const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE';
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-Pairing-Code, Last-Event-ID';
export const CORS_EXPOSE_HEADERS = 'X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Idempotency-Replayed';

function refusePattern(raw: string, why: string): never {
  throw new GatewayError(
    'config_invalid',
    `allowedOrigins: ${JSON.stringify(raw)} ${why}; use scheme://host[:port], with * only as the port or the leftmost label (https://*.example.com)`,
  );
}

/**
 * Compiles the allowlist once, at boot and on live change. Patterns are held to the same grammar as
 * the origins they match, in canonical form: a pattern no browser origin could equal is a mistake
 * to report, not a line that silently matches nothing. The default port written out is dropped
 * (http://localhost:80 is http://localhost), and an IPv6 literal is put in canonical form.
 */
function compile(opts: OriginGuardOptions): Matchers {
  const m: Matchers = { exact: new Set(), anyPort: new Set(), label: [] };
  for (const raw of opts.allowedOrigins) {
    const p = PATTERN.exec(raw.trim().toLowerCase());
    if (!p) refusePattern(raw, 'is not an origin pattern');
    const [, scheme, wildcardLabel, rawHost, rawPort] = p as unknown as [string, string, string | undefined, string, string | undefined];
    const host = rawHost.charCodeAt(0) === 91 ? (canonicalV6(rawHost) ?? '') : rawHost;
    if (!hostValid(host)) refusePattern(raw, 'does not name a host as a browser writes it (empty or overlong label, trailing dot, malformed address)');
    if (wildcardLabel && (!host.includes('.') || host.charCodeAt(0) === 91 || isIP(host) !== 0))
      refusePattern(raw, 'puts a wildcard label on something that is not a domain');
    if (rawPort !== undefined && rawPort !== '*' && !portValid(rawPort)) refusePattern(raw, 'has a port outside 1-65535 (or written with a leading zero)');
    const port = rawPort === undefined || DEFAULT_PORTS[scheme] === rawPort ? '' : rawPort;
    if (wildcardLabel) m.label.push({ scheme, suffix: `.${host}`, port });
    else if (port === '*') m.anyPort.add(`${scheme}://${host}`);
    else m.exact.add(`${scheme}://${host}${port === '' ? '' : `:${port}`}`);
  }
  return m;
}

/** Whether a parsed origin is on the list (an exact entry was looked up before parsing). */
function matches(m: Matchers, o: Origin): boolean {
  if (m.anyPort.has(`${o.scheme}://${o.host}`)) return true;
  for (const l of m.label) {
    if (l.scheme !== o.scheme || !o.host.endsWith(l.suffix)) continue;
    const label = o.host.slice(0, o.host.length - l.suffix.length);
    if (LABEL.test(label) && (l.port === '*' || l.port === o.port)) return true;
  }
  return false;
}

export function originGuard(initial: OriginGuardOptions) {
  let matchers = compile(initial);
  const https: IsHttps = initial.https ?? (() => false);

  /** Returns true when it has answered the request itself (a CORS preflight). */
  function originGuard(req: OriginRequest, reply: CorsReply): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return false; // not a browser cross-origin request
    // Node joins repeated Origin headers with ", "; a serialized origin never contains a comma.
    if (origin.includes(',')) throw new GatewayError('origin_not_allowed', 'several Origin headers');
    if (origin === 'null') throw new GatewayError('origin_not_allowed', 'opaque origin (null) is never allowed');
    // The gateway's own origin (the console's pages, whose writes carry Origin): not a cross-origin
    // request, so no CORS headers either. The Host it is compared with passed the host guard.
    if (origin === ownOrigin(req, https(req))) return false;
    // Every exact entry is a canonical serialized origin, so an exact hit needs no parsing.
    if (!matchers.exact.has(origin)) {
      const parsed = parseOrigin(origin);
      if (parsed === undefined) throw new GatewayError('origin_not_allowed', 'malformed Origin header');
      if (!matches(matchers, parsed)) throw new GatewayError('origin_not_allowed', 'Origin is not on the allowlist');
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      reply.code(204);
      reply.header('access-control-allow-methods', CORS_METHODS);
      reply.header('access-control-allow-headers', CORS_ALLOW_HEADERS);
      reply.header('access-control-max-age', '600');
      reply.send();
      return true;
    }
    reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    return false;
  }

  /**
   * Action-link routes (`auth: 'link'`): the token in the URL is the credential, so a forged
   * cross-site request needs the token anyway and the allowlist adds nothing. A browser posting the
   * confirmation form sends `Origin: null` (the page's Referrer-Policy is no-referrer) or, with
   * another policy, the gateway's own origin; both pass. Any other origin is refused unless listed,
   * and no CORS headers are given here: no other page may read the answer.
   */
  function forLink(req: OriginRequest): void {
    const origin = req.headers.origin;
    if (origin === undefined || origin === 'null') return;
    const parsed = origin.includes(',') ? undefined : parseOrigin(origin);
    if (parsed === undefined) throw new GatewayError('origin_not_allowed', 'malformed Origin header');
    const host = (req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '').toLowerCase();
    if (host !== '' && origin.slice(origin.indexOf('://') + 3) === host) return;
    if (!matchers.exact.has(origin) && !matches(matchers, parsed))
      throw new GatewayError('origin_not_allowed', 'Origin is neither this gateway nor on the allowlist');
  }

  return Object.assign(originGuard, {
    forLink,
    reconfigure(next: Pick<OriginGuardOptions, 'allowedOrigins'>): void {
      matchers = compile(next);
    },
  });
}
