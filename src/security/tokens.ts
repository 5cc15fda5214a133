/**
 * Token primitives: generation (256 bits from node:crypto, `moat_` prefix), SHA-256 digests and
 * constant-time comparison. Tokens are stored only as digests. No I/O.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'moat_';
/** moat_ + 43 base64url characters (32 bytes). Other shapes are refused before hashing. */
const TOKEN_SHAPE = /^moat_[A-Za-z0-9_-]{43}$/;
/** Operator-supplied tokens (--token) may be any printable ASCII without spaces, 32..512 chars. */
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
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time equality of two hex digests of equal length. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Short random identifier with a readable prefix (ids are not secrets). */
export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}
