/**
 * The rate limit alone, on what it reads (route class, client address, time): per class, per
 * client, IPv6 by /64, the Retry-After it gives, and options checked at boot. Memory bounds under a
 * flood of addresses: test/unit/limiter.test.ts; end to end: test/integration/limits.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { rateLimit, type RateLimitOptions } from '../../src/security/rate-limit.js';
import { outcome } from '../helpers/refusal.js';

const T0 = Date.parse('2026-11-23T12:00:00Z');
const OPTS: RateLimitOptions = { enabled: true, maxClients: 1000, perMinute: { pair: 3, hooks: 5, jobs: 5, progress: 50, general: 10 } };

/** How many of `n` hits at T0 from `client` on `cls` get through. */
function through(limit: ReturnType<typeof rateLimit>, cls: Parameters<typeof limit>[0], client: string, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (outcome(() => limit(cls, client, T0)) === 'ok') ok++;
  return ok;
}

describe('rate limit', () => {
  it.each([
    ['pair', 3],
    ['hooks', 5],
    ['general', 10],
  ] as const)('lets %s requests through up to its limit (%i a minute), then refuses with rate_limited', (cls, n) => {
    expect(through(rateLimit(OPTS), cls, '203.0.113.9', n + 20)).toBe(n);
  });

  it('counts each class apart: exhausting pairing leaves the general class open', () => {
    const limit = rateLimit(OPTS);
    expect(through(limit, 'pair', '203.0.113.9', 10)).toBe(3);
    expect(through(limit, 'general', '203.0.113.9', 1)).toBe(1);
  });

  it.each([
    ['another IPv4 client', '203.0.113.9', '203.0.113.10', 3],
    ['an IPv6 client in the same /64 (rotating addresses does not escape)', '2001:db8:1:2::1', '2001:db8:1:2:ffff::9', 0],
    ['an IPv6 client in another /64', '2001:db8:1:2::1', '2001:db8:1:3::1', 3],
  ])('%s has a count of its own or not', (_what, first, second, expected) => {
    const limit = rateLimit(OPTS);
    expect(through(limit, 'pair', first, 10)).toBe(3);
    expect(through(limit, 'pair', second, 10)).toBe(expected);
  });

  it('says when to retry, with the standard RateLimit headers', () => {
    const limit = rateLimit(OPTS);
    through(limit, 'pair', '203.0.113.9', 3);
    try {
      limit('pair', '203.0.113.9', T0);
      expect.unreachable();
    } catch (err) {
      const headers = (err as { headers: Record<string, string> }).headers;
      expect(headers['ratelimit-limit']).toBe('3');
      expect(headers['ratelimit-remaining']).toBe('0');
      expect(Number(headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(headers['retry-after'])).toBeLessThanOrEqual(60);
    }
  });

  it('opens again once the window has passed', () => {
    const limit = rateLimit(OPTS);
    through(limit, 'pair', '203.0.113.9', 3);
    expect(outcome(() => limit('pair', '203.0.113.9', T0 + 1))).toBe('rate_limited');
    expect(outcome(() => limit('pair', '203.0.113.9', T0 + 120_000))).toBe('ok');
  });

  it('refuses nothing when turned off', () => {
    expect(through(rateLimit({ ...OPTS, enabled: false }), 'pair', '203.0.113.9', 100)).toBe(100);
  });

  it.each([[0], [-1], [1.5], [Number.NaN]])('refuses perMinute %s at boot with config_invalid', (n) => {
    expect(outcome(() => rateLimit({ ...OPTS, perMinute: { ...OPTS.perMinute, pair: n } }))).toBe('config_invalid');
  });

  it('keeps its counts across a live change, and keeps the old limits when the new ones are refused', () => {
    const limit = rateLimit(OPTS);
    through(limit, 'pair', '203.0.113.9', 3);
    expect(outcome(() => limit.reconfigure({ ...OPTS, perMinute: { ...OPTS.perMinute, pair: 0 } }))).toBe('config_invalid');
    expect(outcome(() => limit('pair', '203.0.113.9', T0))).toBe('rate_limited');
    limit.reconfigure({ ...OPTS, perMinute: { ...OPTS.perMinute, pair: 6 } });
    expect(through(limit, 'pair', '203.0.113.9', 10)).toBe(2);
  });
});
