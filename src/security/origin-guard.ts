/**
 * Origin allowlist and CORS, default deny. Cross-site request forgery and browser-driven access:
 * a request carrying an Origin that is neither the gateway's own nor on the list is refused
 * whatever its method, and only listed origins get CORS headers (the exact origin echoed, never
 * `*`). Reads config only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { ownOrigin, type IsHttps } from './own-origin.js';

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

/** A serialized origin: scheme "://" host [":" port], nothing else (no path, no userinfo). */
const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?$/;
const PATTERN = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}|\*))?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE';
export const CORS_ALLOW_HEADERS =
  'Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-Pairing-Code, Last-Event-ID';
export const CORS_EXPOSE_HEADERS =
  'X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Idempotency-Replayed';

function compile(opts: OriginGuardOptions): Matchers {
  const m: Matchers = { exact: new Set(), anyPort: new Set(), label: [] };
  for (const raw of opts.allowedOrigins) {
    const p = PATTERN.exec(raw.trim().toLowerCase());
    const host = p?.[3] ?? '';
    if (!p || host.includes('*') || (p[2] && !host.includes('.'))) {
      throw new GatewayError(
        'config_invalid',
        `allowedOrigins: ${JSON.stringify(raw)} is not an origin pattern; use scheme://host[:port], with * only as the port or the leftmost label (https://*.example.com)`,
      );
    }
    const [, scheme, wildcardLabel, , port] = p as unknown as [string, string, string | undefined, string, string | undefined];
    if (wildcardLabel) m.label.push({ scheme, suffix: `.${host}`, port: port ?? '' });
    else if (port === '*') m.anyPort.add(`${scheme}://${host}`);
    else m.exact.add(`${scheme}://${host}${port === undefined ? '' : `:${port}`}`);
  }
  return m;
}

function matches(m: Matchers, origin: string): boolean {
  if (m.exact.has(origin)) return true;
  const o = ORIGIN.exec(origin);
  if (!o) return false;
  const [, scheme, host, port] = o as unknown as [string, string, string, string | undefined];
  if (m.anyPort.has(`${scheme}://${host}`)) return true;
  for (const l of m.label) {
    if (l.scheme !== scheme || !host.endsWith(l.suffix)) continue;
    const label = host.slice(0, host.length - l.suffix.length);
    if (LABEL.test(label) && (l.port === '*' || l.port === (port ?? ''))) return true;
  }
  return false;
}

export function originGuard(initial: OriginGuardOptions) {
  let matchers = compile(initial);
  const https: IsHttps = initial.https ?? (() => false);

  /** Returns true when it has answered the request itself (a CORS preflight). */
  function originGuard(req: FastifyRequest, reply: FastifyReply): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return false; // not a browser cross-origin request
    // Node joins repeated Origin headers with ", "; a serialized origin never contains a comma.
    if (origin.includes(',')) throw new GatewayError('origin_not_allowed', 'several Origin headers');
    if (origin === 'null') throw new GatewayError('origin_not_allowed', 'opaque origin (null) is never allowed');
    if (!ORIGIN.test(origin)) throw new GatewayError('origin_not_allowed', 'malformed Origin header');
    // The gateway's own origin (the console's pages, whose writes carry Origin): not a cross-origin
    // request, so no CORS headers either. The Host it is compared with passed the host guard.
    if (origin === ownOrigin(req, https(req))) return false;
    if (!matches(matchers, origin)) throw new GatewayError('origin_not_allowed', 'Origin is not on the allowlist');
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      reply
        .code(204)
        .header('access-control-allow-methods', CORS_METHODS)
        .header('access-control-allow-headers', CORS_ALLOW_HEADERS)
        .header('access-control-max-age', '600')
        .send();
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
  function forLink(req: FastifyRequest): void {
    const origin = req.headers.origin;
    if (origin === undefined || origin === 'null') return;
    if (origin.includes(',') || !ORIGIN.test(origin)) throw new GatewayError('origin_not_allowed', 'malformed Origin header');
    const host = (req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '').toLowerCase();
    if (host !== '' && origin.slice(origin.indexOf('://') + 3) === host) return;
    if (!matches(matchers, origin)) throw new GatewayError('origin_not_allowed', 'Origin is neither this gateway nor on the allowlist');
  }

  return Object.assign(originGuard, {
    forLink,
    reconfigure(next: Pick<OriginGuardOptions, 'allowedOrigins'>): void {
      matchers = compile(next);
    },
  });
}
