/**
 * Authentication: `Authorization: Bearer <token>` -> principal, or, on the routes that take it and
 * only without a bearer token, the console session cookie -> principal. Tokens and session values
 * are looked up by their SHA-256 digest and compared in constant time by the verifiers. Credential
 * stuffing: a locked-out client is refused before its token is looked at, so it never learns
 * whether a token was valid. Failures are counted by the caller (see http/pipeline.ts) from the
 * error code. The cookie request has passed the CSRF guard (csrf.ts) before it gets here.
 */
import { GatewayError } from '../errors.js';
import type { AddressedRequest } from './client-ip.js';
import type { IsHttps } from './own-origin.js';
import { ANONYMOUS_ADMIN, type Principal } from '../crypto/principal.js';
import { hasSessionCookie, sessionClearCookie, sessionCookieName, sessionCookieValues } from '../crypto/session-cookie.js';
import { tokenDigest } from '../crypto/tokens.js';

/** What authentication reads: the raw message (Node's IncomingMessage, or Fastify's request.raw). */
export interface BearerRequest extends AddressedRequest {
  readonly headers: AddressedRequest['headers'] & { readonly authorization?: string | undefined; readonly cookie?: string | undefined };
  /** Every Authorization line as sent (Node's `headers` keeps only the first). */
  readonly rawHeaders: readonly string[];
}

export interface TokenVerifier {
  /** The principal whose token has this SHA-256 digest, or null (unknown, expired, revoked). */
  verifyDigest(digest: string, now: number): Principal | null;
}

export interface AuthenticateOptions {
  /** False only on loopback binds (the boot matrix refuses it elsewhere). */
  enabled: boolean;
  verifier: TokenVerifier;
  /** Console sessions by the SHA-256 of their cookie; null when the console is off (the cookie is ignored). */
  sessions: TokenVerifier | null;
  /** Whether the request came over HTTPS (the cookie is then `__Host-moat_session`, never `moat_session`). */
  https: IsHttps;
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="moat"' };
const CHALLENGE_INVALID = { 'www-authenticate': 'Bearer realm="moat", error="invalid_token"' };

/** Counts Authorization headers in the raw list: Node keeps only the first of several. */
function authorizationCount(req: BearerRequest): number {
  const raw = req.rawHeaders;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') n++;
  }
  return n;
}

/** Longer presented secrets are refused before hashing (no hashing of megabyte headers). */
const MAX_SECRET_LENGTH = 600;

/**
 * The last Authorization value seen on a connection and its digest. A keep-alive client sends the
 * same header on every request, so it is hashed once per connection. Comparing the new header with
 * this client's own previous one reveals nothing the client does not know; the digest is still
 * looked up and compared in constant time on every request (revocation and expiry apply at once).
 */
const lastSeen = new WeakMap<object, { header: string; digest: string }>();

function digestFor(connection: object, header: string): string {
  const seen = lastSeen.get(connection);
  if (seen !== undefined && seen.header === header) return seen.digest;
  const digest = tokenDigest(header.slice(7));
  lastSeen.set(connection, { header, digest });
  return digest;
}

export function authenticate(opts: AuthenticateOptions) {
  const { enabled, verifier, sessions } = opts;
  // A dead session's cookie is removed from the browser with the refusal.
  const ENDED = { plain: { 'set-cookie': sessionClearCookie(false) }, tls: { 'set-cookie': sessionClearCookie(true) } };

  /** The session of the first cookie value that names a live one; throws session_invalid when the cookie names none. */
  function session(req: BearerRequest, now: number): Principal | undefined {
    const header = req.headers.cookie;
    const https = opts.https(req);
    const cookieName = sessionCookieName(https);
    const values = sessionCookieValues(header, cookieName);
    for (const value of values) {
      const principal = (sessions as TokenVerifier).verifyDigest(tokenDigest(value), now);
      if (principal !== null) return principal;
    }
    if (values.length === 0 && !hasSessionCookie(header, cookieName)) return undefined;
    throw new GatewayError('session_invalid', 'the console session ended or expired; sign in again', { headers: https ? ENDED.tls : ENDED.plain });
  }

  /** `cookie`: the route takes the session cookie (/api/v1/* HTTP routes) when no bearer token is sent. */
  function authenticate(req: BearerRequest, now: number, cookie = false): Principal {
    if (!enabled) return ANONYMOUS_ADMIN;
    const header = req.headers.authorization;
    if (header === undefined) {
      const principal = cookie && sessions !== null ? session(req, now) : undefined;
      if (principal !== undefined) return principal;
      throw new GatewayError('auth_required', 'send Authorization: Bearer <token>', { headers: CHALLENGE });
    }
    if (authorizationCount(req) > 1) throw new GatewayError('token_invalid', 'several Authorization headers', { headers: CHALLENGE_INVALID });
    // RFC 6750 2.1: the scheme is case-insensitive, one space, then the token.
    if (header.length < 8 || header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') {
      throw new GatewayError('token_invalid', 'Authorization must use the Bearer scheme', { headers: CHALLENGE_INVALID });
    }
    if (header.length > 7 + MAX_SECRET_LENGTH) throw new GatewayError('token_invalid', 'token unknown, expired or revoked', { headers: CHALLENGE_INVALID });
    const principal = verifier.verifyDigest(digestFor(req.socket ?? req, header), now);
    if (principal === null) throw new GatewayError('token_invalid', 'token unknown, expired or revoked', { headers: CHALLENGE_INVALID });
    return principal;
  }

  return authenticate;
}
