/**
 * Attack on console sessions from outside: session fixation (a cookie the attacker chose, or the
 * attacker's own live session cookie, planted in the victim's browser before sign-in), sign-out
 * replayed from another client, and a live cookie sent with a Host the gateway does not serve.
 */
import { describe, expect, it } from 'vitest';
import { asPage, cookieOf, exchange, mintConsoleCode, signIn } from '../helpers/console.js';
import { gateways } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

const start = gateways('all');
const boot = () => start({ lockout: { after: 1000 }, rateLimit: { enabled: false } });

describe('session fixation', () => {
  it('a cookie value chosen by the attacker before sign-in is replaced, and never becomes a session', async () => {
    const g = await boot();
    const planted = 'A'.repeat(43);
    const minted = await mintConsoleCode(g, ['read', 'jobs']);
    const res = await exchange(g, minted.link, { cookie: `moat_session=${planted}` });
    expect(res.status).toBe(201);
    const fresh = cookieOf(res);
    expect(fresh.value).not.toBe(planted);
    const withPlanted = await asPage(g, { cookie: `moat_session=${planted}` }, '/api/v1/me');
    expect(withPlanted.status).toBe(401);
    expect(withPlanted.json.code).toBe('session_invalid');
    expect((await asPage(g, { cookie: fresh.pair }, '/api/v1/me')).json.scopes).toEqual(['read', 'jobs']);
  });

  it("the attacker's own live session planted before the victim signs in stays the attacker's (never raised to the victim's scopes)", async () => {
    const g = await boot();
    const attacker = await signIn(g, ['read']);
    const victimCode = await mintConsoleCode(g, ['admin']);
    const res = await exchange(g, victimCode.link, { cookie: attacker.cookie });
    expect(res.status).toBe(201);
    const victim = cookieOf(res);
    expect(victim.value).not.toBe(attacker.value);
    const me = await asPage(g, attacker, '/api/v1/me');
    expect(me.json).toMatchObject({ kind: 'session', id: attacker.id, scopes: ['read'] });
    expect((await asPage(g, attacker, '/api/v1/tokens')).status).toBe(403);
    expect((await asPage(g, { cookie: victim.pair }, '/api/v1/me')).json.scopes).toEqual(['admin']);
  });
});

describe('sign-out', () => {
  it('ends the session on the server: the same cookie from another client address is 401 afterwards', async () => {
    const g = await boot();
    const s = await signIn(g, ['read']);
    const out = await asPage(g, s, '/api/v1/console/session', { method: 'DELETE' });
    expect(out.status).toBe(204);
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${s.cookie}\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n`,
      '127.0.0.1',
      5000,
      '127.0.0.2',
    );
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).code).toBe('session_invalid');
    // Signing out twice, or with the ended cookie, creates nothing and ends nothing else.
    expect((await asPage(g, s, '/api/v1/console/session', { method: 'DELETE' })).status).toBe(401);
  });
});

describe('a live cookie with a Host the gateway does not serve', () => {
  it.each(['evil.example', `evil.example:1`, '127.0.0.1.nip.io', 'localhost.evil.example'])('Host %s: refused before the cookie is looked at', async (host) => {
    const g = await boot();
    const s = await signIn(g, ['admin']);
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/me HTTP/1.1\r\nHost: ${host}\r\nCookie: ${s.cookie}\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).not.toBe(200);
    expect(res.body).not.toContain(s.id);
  });
});
