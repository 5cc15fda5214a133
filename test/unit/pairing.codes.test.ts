/**
 * Pairing codes are uniform: a chi-square test over many minted codes finds no digit bias, and the
 * same test does find the bias of a naive modulo generator (so it has the power to catch one).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generatePairingCode, isWellFormedPairingCode, pairingCodeDigest } from '../../src/crypto/pairing.js';

/** Largest chi-square statistic per digit position (9 degrees of freedom). */
function worstChiSquare(codes: string[]): number {
  let worst = 0;
  for (let pos = 0; pos < 6; pos++) {
    const counts = new Array(10).fill(0) as number[];
    for (const c of codes) counts[Number(c[pos])] = (counts[Number(c[pos])] ?? 0) + 1;
    const expected = codes.length / 10;
    worst = Math.max(
      worst,
      counts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0),
    );
  }
  return worst;
}

// 9 degrees of freedom: p = 1e-6 at about 46.5. A fair generator fails this about once in a million runs.
const CRITICAL = 46.5;
const N = 200_000;

describe('pairing codes', () => {
  it('are six digits, and well-formedness is checked', () => {
    for (let i = 0; i < 1000; i++) expect(generatePairingCode()).toMatch(/^\d{6}$/);
    expect(isWellFormedPairingCode('012345')).toBe(true);
    for (const bad of ['12345', '1234567', '12345a', ' 123456', '１２３４５６']) expect(isWellFormedPairingCode(bad)).toBe(false);
  });

  it(`show no digit bias over ${N} codes (chi-square below ${CRITICAL} at every position)`, () => {
    const codes = Array.from({ length: N }, () => generatePairingCode());
    expect(worstChiSquare(codes)).toBeLessThan(CRITICAL);
  });

  it('the same test catches a naive generator with modulo bias', () => {
    // One random byte per digit, taken mod 10: 0..5 come up 26 times in 256, 6..9 only 25.
    const naive = () => Array.from(randomBytes(6), (b) => String(b % 10)).join('');
    const codes = Array.from({ length: N }, naive);
    expect(worstChiSquare(codes)).toBeGreaterThan(CRITICAL);
  });

  it('rejects draws at or above the largest multiple of 10^6 (rejection sampling)', () => {
    const draws = [0xffffffff, 0xfffffff0, 42];
    const code = generatePairingCode((n) => {
      const b = Buffer.alloc(n);
      b.writeUInt32BE(draws.shift() as number);
      return b;
    });
    expect(code).toBe('000042');
  });

  it('are stored as keyed digests', () => {
    const key = randomBytes(32);
    expect(pairingCodeDigest(key, '123456')).toMatch(/^[0-9a-f]{64}$/);
    expect(pairingCodeDigest(key, '123456')).not.toBe(pairingCodeDigest(randomBytes(32), '123456'));
  });
});
