/**
 * Attack: whoever held the admin token mints pairing codes (an admin console sign-in link, a
 * token code) before the operator finds out and rotates the admin token. Rotation is documented as
 * the move that shuts every door at once (docs/console.md): the codes still waiting to be redeemed
 * are doors too, so after a rotation none of them may give a session or a token. Also: a code is
 * single use across both exchanges, and tampered, cut or case-changed codes are refused.
 */
import { describe, expect, it } from 'vitest';
import { exchange, mintConsoleCode } from '../helpers/console.js';
import { gateways, type TestGateway } from '../helpers/gateway.js';

const start = gateways('each');
const boot = () => start({ lockout: { after: 1000 }, console: { enabled: true } });

const pair = (g: TestGateway, code: string) => g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': code } });

async function rotate(g: TestGateway): Promise<void> {
  const res = await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' });
  expect(res.status, res.text).toBe(200);
}

describe('codes minted before the admin token was rotated', () => {
  it('an admin console sign-in link no longer gives a session', async () => {
    const g = await boot();
    const minted = await mintConsoleCode(g, ['admin']);
    await rotate(g);
    const res = await exchange(g, minted.link);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('pairing_code_invalid');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('the digits of a console code no longer give a session', async () => {
    const g = await boot();
    const minted = await mintConsoleCode(g, ['read', 'jobs']);
    await rotate(g);
    const res = await exchange(g, minted.code as string);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('pairing_code_invalid');
  });

  it('a token pairing code no longer gives a token', async () => {
    const g = await boot();
    const minted = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['jobs'] } });
    expect(minted.status).toBe(201);
    await rotate(g);
    const res = await pair(g, minted.json.code);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('pairing_code_invalid');
  });

  it('codes minted after the rotation work as before', async () => {
    const g = await boot();
    await rotate(g);
    g.token = (await import('node:fs')).readFileSync(`${g.dataDir}/gateway-token`, 'utf8').trim();
    const fresh = { ...g, fetch: (path: string, init: Parameters<TestGateway['fetch']>[1] = {}) => g.fetch(path, { auth: g.token, ...init }) } as TestGateway;
    const minted = await mintConsoleCode(fresh, ['read']);
    expect((await exchange(g, minted.link)).status).toBe(201);
    const token = await fresh.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'] } });
    expect((await pair(g, token.json.code)).status).toBe(201);
  });
});

describe('tampered codes', () => {
  it.each([
    ['a link cut by one character', (l: string) => l.slice(0, -1)],
    ['a link with one character changed', (l: string) => l.slice(0, -1) + (l.endsWith('A') ? 'B' : 'A')],
    ['a link upper-cased', (l: string) => l.toUpperCase()],
    ['a link with a character appended', (l: string) => `${l}A`],
    ['a link sent as its digits would be (first 6 characters)', (l: string) => l.slice(0, 6)],
    ['a link with padding', (l: string) => `${l}=`],
  ])('%s is refused and the real link still works once', async (_label, tamper) => {
    const g = await boot();
    const minted = await mintConsoleCode(g, ['read']);
    const forged = tamper(minted.link);
    if (forged !== minted.link) {
      const res = await exchange(g, forged);
      expect([400, 403]).toContain(res.status);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect((await exchange(g, minted.link)).status).toBe(201);
    expect((await exchange(g, minted.link)).status).toBe(403);
    expect((await exchange(g, minted.code as string)).status).toBe(403);
  });

  it('the digits of a console code are not a token pairing code, and a console link is not one either', async () => {
    const g = await boot();
    const minted = await mintConsoleCode(g, ['read']);
    expect((await pair(g, minted.code as string)).status).toBe(403);
    expect((await pair(g, minted.link)).status).toBe(403);
    expect((await exchange(g, minted.link)).status).toBe(201);
  });
});
