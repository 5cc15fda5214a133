/**
 * Attack: an attacker holding a valid token (or sharing an address with someone who does) guesses
 * pairing codes, and uses its token between guesses to reset its failure count. A success resets
 * only the failures of its own kind: the guesses still lock the address out of pairing, the good
 * token keeps working, and the operator is untouched. The same over HTTP/2.
 */
import { describe, expect, it } from 'vitest';
import { expectStillServing, h2Connect, h2Request } from '../helpers/attack.js';
import { gateways, type TestGateway } from '../helpers/gateway.js';
import { tokenWith } from '../helpers/tools.js';

let clock = 0;
const start = gateways('each');
async function boot(values: Record<string, unknown> = {}): Promise<TestGateway> {
  clock = Date.parse('2026-12-01T12:00:00Z');
  // Rate limits off: the lockout alone is under test (the pair class would stop at 10 a minute).
  return start({ logLevel: 'error', rateLimit: { enabled: false }, lockout: { after: 5, baseMs: 60_000, maxMs: 600_000 }, ...values }, { now: () => clock });
}

const BAD_TOKEN = 'moat_BADBADBADBADBADBADBADBADBADBADBADBADBADBAD0';
const guess = (g: TestGateway, code: string) => g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': code } });

describe('a valid token between pairing-code guesses', () => {
  it('does not reset the pairing failures: the 6th guess is locked out, the token still works', async () => {
    const g = await boot();
    const read = await tokenWith(g, 'insider', ['read']);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await guess(g, String(100000 + i))).status);
      // The attacker's own good token, after every guess: a success, but of another kind.
      expect((await g.fetch('/api/v1/status', { auth: read })).status).toBe(200);
    }
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const locked = await guess(g, '999999');
    expect(locked.json.code).toBe('locked_out');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    await expectStillServing(g);
  });

  it('locks pairing even for the right code while locked, and a redeemed code resets pairing failures only', async () => {
    const g = await boot();
    const minted = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'] } });
    expect(minted.status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await guess(g, '000000')).status).toBe(403);
    expect((await guess(g, minted.json.code)).status).toBe(429);
    clock += 60_001;
    // Four bad tokens, then the code redeemed: the token failures are not wiped by a pairing success.
    for (let i = 0; i < 4; i++) expect((await g.fetch('/api/v1/status', { auth: BAD_TOKEN })).status).toBe(401);
    expect((await guess(g, minted.json.code)).status).toBe(201);
    expect((await g.fetch('/api/v1/status', { auth: BAD_TOKEN })).status).toBe(401);
    expect((await g.fetch('/api/v1/status', { auth: BAD_TOKEN })).json.code).toBe('locked_out');
  });

  it('token guesses lock tokens out without touching pairing, and the audit names the kind', async () => {
    const g = await boot();
    const minted = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'] } });
    for (let i = 0; i < 5; i++) expect((await g.fetch('/api/v1/status', { auth: BAD_TOKEN })).status).toBe(401);
    expect((await g.fetch('/api/v1/status', { auth: BAD_TOKEN })).json.code).toBe('locked_out');
    expect((await guess(g, minted.json.code)).status).toBe(201);
    clock += 120_000;
    const audit = await g.fetch('/api/v1/audit?after=0&limit=1000');
    const lockouts = (audit.json.entries as Array<{ type: string; detail?: { kind?: string } }>).filter((e) => e.type === 'auth.lockout');
    expect(lockouts.map((e) => e.detail?.kind)).toEqual(['token']);
  });

  it('over HTTP/2 the same: guesses interleaved with a good token end locked out', async () => {
    const g = await boot({ tls: { enabled: true } });
    const read = await tokenWith(g, 'insider', ['read']);
    const { session } = await h2Connect(g, '127.0.0.2');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push((await h2Request(session, { ':method': 'POST', ':path': '/api/v1/pair', 'x-pairing-code': String(200000 + i) })).status);
        expect((await h2Request(session, { ':path': '/api/v1/status', authorization: `Bearer ${read}` })).status).toBe(200);
      }
      expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
    } finally {
      session.close();
    }
    await expectStillServing(g);
  });
});
