/**
 * Lockout with an injected clock: 5 failures lock a client for 1 s, doubling per further failure up
 * to the cap; a locked client is refused whatever it sends (it never learns whether a token was
 * valid); a success resets it; other clients are unaffected.
 */
import { describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { gateways, startGateway, type TestGateway } from '../helpers/gateway.js';

let clock = 0;
const start = gateways('each');
function boot(values: Record<string, unknown> = {}) {
  clock = Date.parse('2026-11-23T12:00:00Z');
  return start(values, { now: () => clock });
}

const BAD = 'moat_BADBADBADBADBADBADBADBADBADBADBADBADBADBAD0';
const fail = (g: TestGateway, headers: Record<string, string> = {}) => g.fetch('/api/v1/status', { auth: BAD, headers });

describe('lockout', () => {
  it('locks after 5 failures for 1 s, then 2 s, 4 s, ... up to the cap', async () => {
    const g = await boot({ lockout: { after: 5, baseMs: 1000, maxMs: 8000 } });
    for (let i = 0; i < 5; i++) expect((await fail(g)).status).toBe(401);
    const expected = [1, 2, 4, 8, 8, 8];
    for (const seconds of expected) {
      const locked = await fail(g);
      expect(locked.status).toBe(429);
      expect(locked.json.code).toBe('locked_out');
      expect(locked.headers['retry-after']).toBe(String(seconds));
      clock += seconds * 1000 - 1;
      expect((await fail(g)).status).toBe(429); // one millisecond early: still locked
      clock += 1;
      expect((await fail(g)).status).toBe(401); // the lock is over; this failure starts the next one
    }
  });

  it('refuses even the right token while locked, with the same answer', async () => {
    const g = await boot();
    for (let i = 0; i < 5; i++) await fail(g);
    const withGood = await g.fetch('/api/v1/status');
    const withBad = await fail(g);
    expect(withGood.status).toBe(429);
    expect(withGood.json.detail).toBe(withBad.json.detail);
    expect(withGood.headers['retry-after']).toBe(withBad.headers['retry-after']);
  });

  it('resets after a success', async () => {
    const g = await boot();
    for (let i = 0; i < 4; i++) await fail(g);
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await fail(g)).status).toBe(401);
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
  });

  it('does not count requests without credentials, and leaves health open', async () => {
    const g = await boot();
    for (let i = 0; i < 10; i++) expect((await g.fetch('/api/v1/status', { auth: false })).status).toBe(401);
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    for (let i = 0; i < 5; i++) await fail(g);
    expect((await g.fetch('/api/v1/health', { auth: false })).status).toBe(200);
  });

  it('takes its numbers from MOAT_LOCKOUT_AFTER, MOAT_LOCKOUT_BASE_MS, MOAT_LOCKOUT_MAX_MS', async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    const g = await start({}, { now: () => clock, env: { MOAT_LOCKOUT_AFTER: '2', MOAT_LOCKOUT_BASE_MS: '3000', MOAT_LOCKOUT_MAX_MS: '3000' } });
    await fail(g);
    await fail(g);
    expect((await fail(g)).headers['retry-after']).toBe('3');
  });

  it('is audited when it starts; of the failures the first is written at once, the others as one count', async () => {
    const g = await boot();
    for (let i = 0; i < 5; i++) await fail(g);
    const entries = (
      await (async () => {
        clock += 2000;
        return g.fetch('/api/v1/audit?after=0&limit=1000');
      })()
    ).json.entries as Array<{ type: string; client: string; detail: { lockedForMs?: number } }>;
    const lock = entries.find((e) => e.type === 'auth.lockout');
    expect(lock).toMatchObject({ client: '127.0.0.1', detail: { lockedForMs: 1000 } });
    expect(entries.filter((e) => e.type === 'auth.failure').length).toBe(1);
    await g.stop(); // writes the open count
    const failures = readEntries(g.dataDir).filter((e) => e.type === 'auth.failure');
    expect(failures.map((e) => (e.detail?.['count'] as number | undefined) ?? 1)).toEqual([1, 4]);
  });
});

describe('client identity behind proxies (X-Forwarded-For)', () => {
  it('ignores X-Forwarded-For when no proxy is trusted: rotating it does not escape the lockout', async () => {
    const g = await boot();
    for (let i = 0; i < 5; i++) await fail(g, { 'x-forwarded-for': `203.0.113.${i}` });
    expect((await fail(g, { 'x-forwarded-for': '198.51.100.77' })).status).toBe(429);
  });

  it('with a trusted proxy, locks out the client behind it and not everyone else', async () => {
    const g = await boot({ trustedProxies: ['127.0.0.1/32'] });
    for (let i = 0; i < 5; i++) await fail(g, { 'x-forwarded-for': '203.0.113.9' });
    expect((await fail(g, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
    expect((await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '198.51.100.7' } })).status).toBe(200);
  });

  it('takes the rightmost address that is not a trusted proxy: a spoofed leftmost entry changes nothing', async () => {
    const g = await boot({ trustedProxies: ['127.0.0.1/32', '10.0.0.0/8'] });
    for (let i = 0; i < 5; i++) await fail(g, { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9, 10.1.2.3` });
    // Same real client (203.0.113.9 behind the 10.x proxy), different spoofed first hop: still locked.
    expect((await fail(g, { 'x-forwarded-for': '192.0.2.200, 203.0.113.9, 10.1.2.3' })).status).toBe(429);
    expect((await fail(g, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
    const audit = await g.fetch('/api/v1/audit?after=0&limit=1000', { headers: { 'x-forwarded-for': '198.51.100.50' } });
    const failures = (audit.json.entries as Array<{ type: string; client: string }>).filter((e) => e.type === 'auth.failure');
    expect(new Set(failures.map((e) => e.client))).toEqual(new Set(['203.0.113.9']));
  });

  it.each([
    ['garbage', 'not-an-ip'],
    ['a port', '203.0.113.9:5555'],
    ['an empty list', ''],
  ])('falls back to the proxy address when the header holds %s', async (_name, xff) => {
    const g = await boot({ trustedProxies: ['127.0.0.1/32'] });
    for (let i = 0; i < 5; i++) await fail(g, { 'x-forwarded-for': xff });
    expect((await fail(g)).status).toBe(429);
  });

  it('refuses a malformed trustedProxies entry at boot', async () => {
    await expect(startGateway({ trustedProxies: ['10.0.0.0/33'] })).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(startGateway({ trustedProxies: ['everyone'] })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
