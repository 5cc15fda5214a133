/**
 * Token primitives: generation (256 bits from node:crypto, `moat_` prefix), SHA-256 digests and
 * constant-time comparison. Tokens are stored only as digests. No I/O.
 */
import { hash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'moat_';
/** moat_ + 43 base64url characters (32 bytes). Other shapes are refused before hashing. */
const TOKEN_SHAPE = /^moat_[A-Za-z0-9_-]{43}$/;
/** Operator-supplied admin tokens (--admin-token) may be any printable ASCII without spaces, 32..512 chars. */
const SUPPLIED_SHAPE = /^[\x21-\x7e]{32,512}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

export function isAcceptableSuppliedToken(token: string): boolean {
  return SUPPLIED_SHAPE.test(token);
}

/** Hex SHA-256 of a token; the only form a token is stored or looked up in. */
export function tokenDigest(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * Constant-time equality of two hex digests: every character is compared, with no early exit, so
 * the time taken does not depend on where they differ. (Same guarantee as timingSafeEqual over the
 * digests, without allocating two Buffers on every request.)
 */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Short random identifier with a readable prefix (ids are not secrets). */
export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}
