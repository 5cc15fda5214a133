/** The limiter's store: sliding windows, bounded memory under a flood of distinct addresses, /64 keys. */
import { describe, expect, it } from 'vitest';
import { LruMap, MemoryWindowStore, clientKey, type LimiterStore } from '../../src/security/limiter-store.js';
import { lockout } from '../../src/security/lockout.js';
import { rateLimit } from '../../src/security/rate-limit.js';

describe('rate limiter memory', () => {
  it('stays bounded after 100,000 distinct client addresses', () => {
    const limit = rateLimit({ enabled: true, maxClients: 10_000, perMinute: { pair: 10, hooks: 60, jobs: 120, progress: 6000, general: 600 } });
    const before = process.memoryUsage().heapUsed;
    const t = Date.parse('2026-11-23T12:00:00Z');
    for (let i = 0; i < 100_000; i++) limit('general', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, t);
    expect(limit.sizes().general).toBeLessThanOrEqual(10_000);
    expect(limit.sizes().general).toBeGreaterThan(4_000);
    // A few MB at most for the survivors; 100k entries would be several times that.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('still limits a client that keeps coming while others flood in', () => {
    const limit = rateLimit({ enabled: true, maxClients: 1000, perMinute: { pair: 10, hooks: 60, jobs: 120, progress: 6000, general: 50 } });
    const t = Date.parse('2026-11-23T12:00:00Z');
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      limit('general', `172.16.${(i >> 8) & 255}.${i & 255}`, t);
      if (i % 100 === 0) {
        try {
          limit('general', '203.0.113.5', t);
        } catch {
          refused++;
        }
      }
    }
    expect(refused).toBe(200 - 50);
  });

  it('keys IPv6 clients by their /64, so rotating addresses in one prefix does not escape', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:bbbb::2'));
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('203.0.113.5')).toBe('203.0.113.5');
  });
});

describe('sliding window', () => {
  it('weighs the previous window by its overlap', () => {
    const w = new MemoryWindowStore(60_000, 100);
    const start = Date.parse('2026-11-23T12:00:00Z');
    for (let i = 0; i < 60; i++) w.hit('k', start + i);
    // Half-way through the next window, half of the previous count still counts.
    expect(w.hit('k', start + 90_000)).toBeCloseTo(60 * 0.5 + 1, 5);
    // Two windows later, nothing of it remains.
    expect(w.hit('k', start + 180_000)).toBe(1);
  });
});

describe('LRU map', () => {
  it('never holds more than its bound and keeps recently used keys', () => {
    const m = new LruMap<string, number>(100);
    for (let i = 0; i < 1000; i++) {
      m.set(`k${i}`, i);
      m.get('hot');
      if (i === 0) m.set('hot', -1);
      expect(m.size).toBeLessThanOrEqual(100);
    }
    expect(m.get('hot')).toBe(-1);
    expect(m.get('k0')).toBeUndefined();
  });

  it('holds a lowered bound from the next generation on, and keeps what it holds meanwhile', () => {
    const m = new LruMap<string, number>(1000);
    for (let i = 0; i < 400; i++) m.set(`k${i}`, i);
    m.resize(100);
    expect(m.get('k399')).toBe(399);
    for (let i = 0; i < 1000; i++) {
      m.set(`n${i}`, i);
      // One generation of the new bound later at most, the old size is gone.
      if (i >= 100) expect(m.size).toBeLessThanOrEqual(100);
    }
    expect(m.max).toBe(100);
  });
});

describe('lockout options', () => {
  it('refuses a base longer than the cap at boot', () => {
    expect(() => lockout({ after: 5, baseMs: 5000, maxMs: 1000, maxClients: 10 })).toThrow(/lockout\.baseMs/);
  });
});

describe('the limiter store interface', () => {
  it('is the one seam behind rate limits and lockout: a store given to both holds all their state', () => {
    // A stand-in for a store shared by replicas: it records what each part asked of it.
    const asked: string[] = [];
    const windows = new Map<string, MemoryWindowStore>();
    const failures = new Map<string, { failures: number; lockedUntil: number; lastFailure: number }>();
    const shared: LimiterStore = {
      windows: (rateClass, windowMs, maxClients) => {
        asked.push(`windows:${rateClass}`);
        const w = new MemoryWindowStore(windowMs, maxClients);
        windows.set(rateClass, w);
        return w;
      },
      failures: (_maxClients, kind) => {
        asked.push(`failures:${kind}`);
        // Each kind of credential gets a store of its own; this one keeps the token failures.
        const m = kind === 'token' ? failures : new Map<string, { failures: number; lockedUntil: number; lastFailure: number }>();
        return { get: (k) => m.get(k), set: (k, r) => void m.set(k, r), delete: (k) => void m.delete(k), resize: () => undefined };
      },
    };
    const t = Date.parse('2026-11-23T12:00:00Z');
    const limit = rateLimit({ enabled: true, maxClients: 100, perMinute: { pair: 2, hooks: 60, jobs: 120, progress: 6000, general: 600 } }, shared);
    const lock = lockout({ after: 1, baseMs: 1000, maxMs: 1000, maxClients: 100 }, shared);
    expect(asked).toEqual(['windows:pair', 'windows:hooks', 'windows:jobs', 'windows:progress', 'windows:general', 'failures:token', 'failures:pairing']);
    limit('pair', '198.51.100.7', t);
    limit('pair', '198.51.100.7', t);
    expect(() => limit('pair', '198.51.100.7', t)).toThrow(/per minute/);
    expect(windows.get('pair')?.size).toBe(1);
    lock.fail('198.51.100.7', t, 'token');
    expect([...failures.keys()]).toEqual([clientKey('198.51.100.7')]);
    expect(() => lock('198.51.100.7', t + 1, 'token')).toThrow();
    expect(() => lock('198.51.100.7', t + 1, 'pairing')).not.toThrow();
    // A live change keeps the counters in the same store.
    limit.reconfigure({ enabled: true, maxClients: 100, perMinute: { pair: 3, hooks: 60, jobs: 120, progress: 6000, general: 600 } });
    expect(asked).toHaveLength(7);
    expect(() => limit('pair', '198.51.100.7', t)).toThrow(/per minute/);
  });
});
