/**
 * Pairing-code primitives: 6-digit codes drawn with rejection sampling (no modulo bias) from
 * node:crypto, the 256-bit link codes of console sign-in links, and their keyed digest (a code has
 * only 10^6 values, so a plain hash of it would be reversed by enumeration; the per-install key
 * makes a stolen database useless). No I/O.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const PAIRING_CODE_DIGITS = 6;
const SPACE = 10 ** PAIRING_CODE_DIGITS;
/** Largest multiple of SPACE below 2^32: draws at or above it are rejected, so every code is equally likely. */
const LIMIT = Math.floor(0x1_0000_0000 / SPACE) * SPACE;
const CODE_SHAPE = /^[0-9]{6}$/;
/** A link code: 32 bytes of node:crypto as base64url (43 characters), far beyond guessing. */
const LINK_CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function generatePairingCode(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const draw = random(4).readUInt32BE(0);
    if (draw < LIMIT) return String(draw % SPACE).padStart(PAIRING_CODE_DIGITS, '0');
  }
}

export function isWellFormedPairingCode(code: string): boolean {
  return CODE_SHAPE.test(code);
}

/** The code a console sign-in link (`/console/#signin=<code>`) and its QR code carry. */
export function generateLinkCode(): string {
  return randomBytes(32).toString('base64url');
}

export function isWellFormedLinkCode(code: string): boolean {
  return LINK_CODE_SHAPE.test(code);
}

export function pairingCodeDigest(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(code).digest('hex');
}
