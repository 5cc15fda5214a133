/**
 * Lockout alone, on what it reads (client address, time, kind of credential): brute force of tokens
 * and pairing codes, each kind counted apart. End to end: test/integration/lockout.test.ts and
 * test/attack/lockout.kinds.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { lockout, type LockoutOptions } from '../../src/security/lockout.js';
import { outcome } from '../helpers/refusal.js';

const T0 = Date.parse('2026-11-23T12:00:00Z');
const OPTS: LockoutOptions = { after: 3, baseMs: 1_000, maxMs: 8_000, maxClients: 1000 };
const C = '203.0.113.9';

describe('lockout', () => {
  it('locks a client out after `after` failures, for baseMs doubling per further failure up to maxMs', () => {
    const l = lockout(OPTS);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => l.fail(C, T0, 'token'))).toEqual([0, 0, 1_000, 2_000, 4_000, 8_000, 8_000]);
  });

  it.each([
    ['while locked', 0, 'locked_out'],
    ['one millisecond before the end', 999, 'locked_out'],
    ['once the lockout ran out', 1_000, 'ok'],
  ])('refuses the locked client %s: %s', (_what, after, expected) => {
    const l = lockout(OPTS);
    for (let i = 0; i < 3; i++) l.fail(C, T0, 'token');
    expect(outcome(() => l(C, T0 + after, 'token'))).toBe(expected);
  });

  it('counts tokens and pairing codes apart: a good token does not wipe out the pairing codes guessed', () => {
    const l = lockout(OPTS);
    l.fail(C, T0, 'pairing');
    l.fail(C, T0, 'pairing');
    l.succeed(C, 'token');
    expect(l.fail(C, T0, 'pairing')).toBe(1_000);
    expect(outcome(() => l(C, T0, 'pairing'))).toBe('locked_out');
    expect(outcome(() => l(C, T0, 'token'))).toBe('ok');
  });

  it('starts a kind over after a success of that kind', () => {
    const l = lockout(OPTS);
    l.fail(C, T0, 'token');
    l.fail(C, T0, 'token');
    l.succeed(C, 'token');
    expect(l.fail(C, T0, 'token')).toBe(0);
  });

  it.each([
    ['another IPv4 address', '203.0.113.10', 'ok'],
    ['an address in the same IPv6 /64', '2001:db8::2', 'locked_out'],
  ])('%s: %s', (_what, other, expected) => {
    const l = lockout(OPTS);
    const first = other.includes(':') ? '2001:db8::1' : C;
    for (let i = 0; i < 3; i++) l.fail(first, T0, 'token');
    expect(outcome(() => l(other, T0, 'token'))).toBe(expected);
  });

  it('forgets failures older than an hour', () => {
    const l = lockout(OPTS);
    l.fail(C, T0, 'token');
    l.fail(C, T0, 'token');
    expect(l.fail(C, T0 + 61 * 60_000, 'token')).toBe(0);
  });

  it('refuses baseMs above maxMs at boot and on a live change with config_invalid', () => {
    expect(outcome(() => lockout({ ...OPTS, baseMs: 10_000 }))).toBe('config_invalid');
    expect(outcome(() => lockout(OPTS).reconfigure({ ...OPTS, baseMs: 10_000 }))).toBe('config_invalid');
  });
});
