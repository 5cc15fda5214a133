/**
 * HMAC-SHA256 signatures: the `t=<unix>,v1=<hex>` form over "<t>.<raw body>" (Stripe, and moat's
 * `Moat-Signature`, whose v2 is keyed per receiver: callback-signing.ts), constant-time comparison
 * of hex signatures, and subkeys derived from a per-install key (HKDF-SHA256). Replay: a
 * timestamped signature is only good within a window. No I/O.
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const MOAT_SIGNATURE_HEADER = 'moat-signature';
export const SIGNATURE_WINDOW_SECONDS = 300;
const HEX64 = /^[0-9a-f]{64}$/;

export function hmacSha256Hex(secret: string | Buffer, ...parts: Array<string | Buffer>): string {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/**
 * A 32-byte subkey of `key` for one purpose (HKDF-SHA256, the purpose as its info): a key is never
 * used for two things, so a MAC or a ciphertext made for one purpose says nothing about another.
 */
export function subkey(key: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `moat:${purpose}`, 32));
}

/**
 * Constant-time equality of a computed hex HMAC and a presented one. The presented value must be
 * exactly 64 lowercase hex characters (a truncated, overlong or uppercase one is simply unequal).
 */
export function hexSignaturesEqual(expected: string, presented: string): boolean {
  if (!HEX64.test(presented) || !HEX64.test(expected)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(presented, 'hex'));
}

/**
 * Constant-time equality of two shared secrets of any length (a presented one and the configured
 * one): their SHA-256 digests are compared, so neither the length nor the first differing byte
 * shows in the time taken.
 */
export function secretsEqual(expected: string | Buffer, presented: string | Buffer): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/**
 * Parses `t=...,v1=...[,v1=...]` (Stripe style; moat's adds `v2=`); other keys are ignored. undefined
 * when malformed: no `t=` or two of them, or no signature at all.
 */
export function parseTimestampedSignature(header: string): { t: number; v1: string[]; v2: string[] } | undefined {
  let t: number | undefined;
  const v1: string[] = [];
  const v2: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || t !== undefined) return undefined;
      t = Number(value);
    } else if (key === 'v1') {
      v1.push(value);
    } else if (key === 'v2') {
      v2.push(value);
    }
  }
  return t === undefined || v1.length + v2.length === 0 ? undefined : { t, v1, v2 };
}

export type SignatureCheck = 'ok' | 'malformed' | 'stale' | 'mismatch';

/** Verifies a timestamped signature over `<t>.<raw body>`: any listed v1 may match, within the window. */
export function verifyTimestampedSignature(
  secret: string | Buffer,
  header: string | undefined,
  rawBody: string | Buffer,
  nowSeconds: number,
  windowSeconds = SIGNATURE_WINDOW_SECONDS,
): SignatureCheck {
  if (header === undefined) return 'malformed';
  const parsed = parseTimestampedSignature(header);
  if (!parsed || parsed.v1.length === 0) return 'malformed';
  if (Math.abs(nowSeconds - parsed.t) > windowSeconds) return 'stale';
  return anySignatureEqual(hmacSha256Hex(secret, `${parsed.t}.`, rawBody), parsed.v1) ? 'ok' : 'mismatch';
}

/** Whether any presented hex signature equals `expected`; every candidate is compared (no early exit on the first match). */
export function anySignatureEqual(expected: string, presented: readonly string[]): boolean {
  let match = false;
  for (const v of presented) match = hexSignaturesEqual(expected, v) || match;
  return match;
}
