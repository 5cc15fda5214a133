/**
 * Signed action links from the attacker's side: every single-character change to a token is
 * refused, a token from another install or for something else never verifies, expiry is checked
 * only after the signature (a forger learns nothing), and the claims survive a round trip.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintLink, verifyLink } from '../../src/crypto/signed-links.js';

const KEY = randomBytes(32);
const NOW = 1_800_000_000;
const claims = { task: 'task_AbCdEfGhIjKl', action: 'approve' as const, exp: NOW + 3600, stateVersion: 3 };

describe('signed action links', () => {
  it('round-trips task, action, expiry, state version and a 128-bit nonce', () => {
    const { token, claims: minted } = mintLink(KEY, claims);
    expect(minted.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(verifyLink(KEY, token, NOW)).toEqual({ ok: true, claims: { ...claims, nonce: minted.nonce } });
    expect(token.length).toBeLessThan(256); // fits the router's parameter limit
  });

  it('round-trips the minting principal when one is named (its revocation withdraws the link)', () => {
    const { token, claims: minted } = mintLink(KEY, { ...claims, minter: 'tok_AbCdEfGhIjKl' });
    expect(verifyLink(KEY, token, NOW)).toEqual({ ok: true, claims: { ...claims, nonce: minted.nonce, minter: 'tok_AbCdEfGhIjKl' } });
    expect(token.length).toBeLessThan(256);
  });

  it('gives every link its own nonce', () => {
    expect(mintLink(KEY, claims).claims.nonce).not.toBe(mintLink(KEY, claims).claims.nonce);
  });

  it('refuses every single-character change anywhere in the token', () => {
    const { token } = mintLink(KEY, claims);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    const accepted: string[] = [];
    for (let i = 0; i < token.length; i++) {
      for (const c of [
        alphabet[(alphabet.indexOf(token[i] as string) + 1) % alphabet.length],
        alphabet[(alphabet.indexOf(token[i] as string) + 17) % alphabet.length],
      ]) {
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        if (changed !== token && verifyLink(KEY, changed, NOW).ok) accepted.push(changed);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('refuses a change to the last MAC character that only touches its spare bits', () => {
    const { token } = mintLink(KEY, claims);
    const last = token[token.length - 1] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const idx = alphabet.indexOf(last);
    const sibling = alphabet[idx ^ 1] as string; // same 4 data bits, other spare bits
    expect(Buffer.from(token.slice(-43), 'base64url')).toEqual(Buffer.from(token.slice(-43, -1) + sibling, 'base64url'));
    expect(verifyLink(KEY, token.slice(0, -1) + sibling, NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it.each([
    ['another install', (t: string) => verifyLink(randomBytes(32), t, NOW)],
    [
      'the payload re-signed without the context',
      (t: string) => {
        const payload = t.split('.')[0] as string;
        return verifyLink(KEY, `${payload}.${createHmac('sha256', KEY).update(payload).digest('base64url')}`, NOW);
      },
    ],
    [
      'the payload swapped for another task',
      (t: string) => {
        const [payload, mac] = t.split('.') as [string, string];
        const other = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('task_AbCdEfGhIjKl', 'task_ZZZZZZZZZZZZ')).toString('base64url');
        return verifyLink(KEY, `${other}.${mac}`, NOW);
      },
    ],
    [
      'the payload swapped for the other action',
      (t: string) => {
        const [payload, mac] = t.split('.') as [string, string];
        const other = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('approve', 'reject')).toString('base64url');
        return verifyLink(KEY, `${other}.${mac}`, NOW);
      },
    ],
  ])('refuses %s', (_label, check) => {
    expect(check(mintLink(KEY, claims).token)).toEqual({ ok: false, reason: 'signature' });
  });

  it.each([
    ['empty', ''],
    ['no MAC', 'eyJ0IjoidGFzayJ9'],
    ['a MAC too short', `${'a'.repeat(40)}.${'b'.repeat(42)}`],
    ['a MAC too long', `${'a'.repeat(40)}.${'b'.repeat(44)}`],
    ['padding', `${'a'.repeat(40)}=.${'b'.repeat(43)}`],
    ['three parts', `a.${'a'.repeat(40)}.${'b'.repeat(43)}`],
    ['a URL-encoded slash', `${'a'.repeat(40)}%2F.${'b'.repeat(43)}`],
  ])('refuses a malformed token (%s)', (_label, token) => {
    expect(verifyLink(KEY, token, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a correctly signed payload that is not a link', () => {
    const payload = Buffer.from(JSON.stringify({ t: 'task_x', a: 'delete', e: NOW + 60, v: 1, n: 'a'.repeat(22) })).toString('base64url');
    const mac = createHmac('sha256', KEY).update('moat-action-link.v1:').update(payload).digest('base64url');
    expect(verifyLink(KEY, `${payload}.${mac}`, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('expires at exp (and not a second before)', () => {
    const { token } = mintLink(KEY, claims);
    expect(verifyLink(KEY, token, claims.exp - 1).ok).toBe(true);
    expect(verifyLink(KEY, token, claims.exp)).toEqual({ ok: false, reason: 'expired' });
  });

  it('says signature, not expired, for a forged expired token', () => {
    const { token } = mintLink(randomBytes(32), claims);
    expect(verifyLink(KEY, token, claims.exp + 10)).toEqual({ ok: false, reason: 'signature' });
  });
});
