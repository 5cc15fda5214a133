/**
 * Guessing sign-in codes: the exchange shares the lockout and the `pair` rate class with
 * POST /api/v1/pair (pairing and sign-in codes have one counter; bad tokens their own). Wrong, used and expired codes count towards the client's lockout
 * (injected clock); a locked client is refused even the right code and learns nothing; a redeemed
 * code starts the count over; the pair budget is one budget for both pairing routes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { exchange, mintConsoleCode } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let clock = 0;
const running: TestGateway[] = [];
async function boot(values: Record<string, unknown> = {}) {
  clock = Date.parse('2026-11-23T12:00:00Z');
  const g = await startGateway(values, { now: () => clock });
  running.push(g);
  return g;
}
afterEach(async () => {
  for (const g of running.splice(0)) await g.stop();
});

const BAD_TOKEN = 'moat_BADBADBADBADBADBADBADBADBADBADBADBADBADBAD0';

describe('lockout', () => {
  it('locks a client out after wrong codes, refusing even the right one with the same answer, for the lockout time', async () => {
    const g = await boot({ lockout: { after: 3, baseMs: 1000, maxMs: 8000 } });
    const m = await mintConsoleCode(g);
    const wrong = m.code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 3; i++) expect((await exchange(g, wrong)).json.code).toBe('pairing_code_invalid');
    const withRight = await exchange(g, m.link);
    const withWrong = await exchange(g, wrong);
    for (const r of [withRight, withWrong]) {
      expect([r.status, r.json.code]).toEqual([429, 'locked_out']);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect(withRight.json.detail).toBe(withWrong.json.detail);
    clock += 8_000;
    // The lock is over and the code is still good: it was never looked at while locked.
    const ok = await exchange(g, m.link);
    expect(ok.status).toBe(201);
  });

  it('counts a used code, an expired code and a link code guess on one count; a bad token counts on its own (failures by kind)', async () => {
    const g = await boot({ lockout: { after: 4, baseMs: 1000, maxMs: 1000 } });
    const used = await mintConsoleCode(g);
    const short = await mintConsoleCode(g, ['read'], { ttlSeconds: 10 });
    const good = await mintConsoleCode(g);
    expect((await exchange(g, used.link)).status).toBe(201);
    clock += 11_000;
    expect((await exchange(g, used.code as string)).status).toBe(403);
    expect((await exchange(g, short.link)).status).toBe(403);
    expect((await exchange(g, 'Z'.repeat(43))).status).toBe(403);
    expect((await g.fetch('/api/v1/status', { auth: BAD_TOKEN })).status).toBe(401);
    // The bad token was a token failure: the fourth code failure is still answered, not locked.
    expect((await exchange(g, 'Y'.repeat(43))).json.code).toBe('pairing_code_invalid');
    expect((await exchange(g, good.link)).json.code).toBe('locked_out');
    await g.fetch('/api/v1/audit?after=0&limit=1').catch(() => undefined);
    clock += 1000;
    await g.fetch('/api/v1/audit?after=0&limit=1');
    const entries = readEntries(g.dataDir);
    expect(entries.some((e) => e.type === 'pairing.failure' && e.route === '/api/v1/console/session' && e.code === 'pairing_code_invalid')).toBe(true);
    expect(entries.some((e) => e.type === 'auth.lockout')).toBe(true);
  });

  it('starts the count over after a code is redeemed', async () => {
    const g = await boot({ lockout: { after: 3 } });
    const a = await mintConsoleCode(g);
    const b = await mintConsoleCode(g);
    for (let i = 0; i < 2; i++) await exchange(g, '123456' === a.code ? '654321' : '123456');
    expect((await exchange(g, a.code as string)).status).toBe(201);
    for (let i = 0; i < 2; i++) expect((await exchange(g, 'Q'.repeat(43))).status).toBe(403);
    expect((await exchange(g, b.code as string)).status).toBe(201);
  });
});

describe('the pair rate class', () => {
  it('limits the exchange per client per minute, on the same budget as POST /api/v1/pair, leaving other routes alone', async () => {
    const g = await boot({ lockout: { after: 1000 }, rateLimit: { pair: { perMinute: 3 } } });
    const codes = [await mintConsoleCode(g), await mintConsoleCode(g)];
    expect((await exchange(g, codes[0]?.link as string)).status).toBe(201);
    expect((await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': '000000' } })).status).toBe(403);
    expect((await exchange(g, '111111')).status).toBe(403);
    const limited = await exchange(g, codes[1]?.link as string);
    expect([limited.status, limited.json.code]).toEqual([429, 'rate_limited']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': '000000' } })).json.code).toBe('rate_limited');
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    clock += 121_000; // a sliding window: the previous minute still weighs until it has passed too
    expect((await exchange(g, codes[1]?.link as string)).status).toBe(201);
  });
});
