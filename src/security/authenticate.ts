/**
 * Bearer authentication: `Authorization: Bearer <token>` -> principal. Tokens are looked up by
 * their SHA-256 digest and compared in constant time by the verifier. Credential stuffing: a
 * locked-out client is refused before its credential is looked at, so it never learns whether a
 * token was valid. Failures are counted by the caller (see http/pipeline.ts) from the error code.
 */
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { ANONYMOUS_ADMIN, type Principal } from './principal.js';

export interface TokenVerifier {
  /** The principal for a presented token secret, or null (unknown, malformed, expired, revoked). */
  verify(secret: string, now: number): Principal | null;
}

export interface AuthenticateOptions {
  /** False only on loopback binds (the boot matrix refuses it elsewhere). */
  enabled: boolean;
  verifier: TokenVerifier;
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="moat"' };
const CHALLENGE_INVALID = { 'www-authenticate': 'Bearer realm="moat", error="invalid_token"' };

/** Counts Authorization headers in the raw list: Node keeps only the first of several. */
function authorizationCount(req: FastifyRequest): number {
  const raw = req.raw.rawHeaders;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') n++;
  }
  return n;
}

export function authenticate(opts: AuthenticateOptions) {
  const { enabled, verifier } = opts;

  function authenticate(req: FastifyRequest, now: number): Principal {
    if (!enabled) return ANONYMOUS_ADMIN;
    const header = req.headers.authorization;
    if (header === undefined) throw new GatewayError('auth_required', 'send Authorization: Bearer <token>', { headers: CHALLENGE });
    if (authorizationCount(req) > 1) throw new GatewayError('token_invalid', 'several Authorization headers', { headers: CHALLENGE_INVALID });
    // RFC 6750 2.1: the scheme is case-insensitive, one space, then the token.
    if (header.length < 8 || header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') {
      throw new GatewayError('token_invalid', 'Authorization must use the Bearer scheme', { headers: CHALLENGE_INVALID });
    }
    const principal = verifier.verify(header.slice(7), now);
    if (principal === null) throw new GatewayError('token_invalid', 'token unknown, expired or revoked', { headers: CHALLENGE_INVALID });
    return principal;
  }

  return authenticate;
}
