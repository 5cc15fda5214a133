/**
 * The session cookie as an attacker sees it: requests carrying an admin session's cookie from
 * anywhere but the console's own pages (another site, another port of this host, a non-browser
 * client with a stolen cookie) are refused with 403 csrf_refused and audited; the cookie never opens
 * the proxy, hooks, action links, metrics or the WebSocket, never reaches a service, and never
 * adds to what a bearer token may do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { asPage, exchange, mintConsoleCode, originOf, signIn, type Session } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { waitFor } from '../helpers/services.js';
import { startEcho, type EchoServer } from '../helpers/upstream.js';

let g: TestGateway;
let echo: EchoServer;
let admin: Session;
let port: number;

beforeAll(async () => {
  echo = await startEcho();
  g = await startGateway({
    services: [{ name: 'echo', kind: 'url', baseUrl: `${echo.url}/base`, health: { path: '/health', intervalMs: 50 } }],
    hooks: [{ name: 'ci', verify: 'github', secret: 'a-github-secret-of-enough-length', action: { type: 'task', title: 'x' } }],
    // An allowed origin may drive the API with a token it holds; it still may not use the cookie.
    allowedOrigins: ['http://127.0.0.1:*'],
    lockout: { after: 1000 },
    rateLimit: { pair: { perMinute: 1000 } },
  });
  port = g.gw.port;
  admin = await signIn(g, ['admin']);
  await waitFor(() => g.gw.parts.supervisor.state('echo') === 'healthy', 'echo healthy');
});
afterAll(async () => {
  await g?.stop();
  await echo?.close();
});

const OTHER_PORT = () => `http://127.0.0.1:${port === 1 ? 2 : port - 1}`;

/** A cookie request with exactly these headers (besides the cookie) and no bearer token. */
const withCookie = (path: string, method: string, headers: Record<string, string>, body?: unknown) =>
  g.fetch(path, { method, auth: false, headers: { cookie: admin.cookie, ...headers }, ...(body === undefined ? {} : { body }) });

describe('fetch metadata and Origin on a cookie request', () => {
  const hostile: Array<[string, () => Record<string, string>]> = [
    ['no Sec-Fetch-Site (a stolen cookie in curl)', () => ({})],
    ['Sec-Fetch-Site: same-site (a page on another port of this host)', () => ({ 'sec-fetch-site': 'same-site', origin: OTHER_PORT() })],
    ['Sec-Fetch-Site: cross-site', () => ({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })],
    ['Sec-Fetch-Site: none (typed in the address bar)', () => ({ 'sec-fetch-site': 'none' })],
    ['Sec-Fetch-Site in capitals', () => ({ 'sec-fetch-site': 'SAME-ORIGIN', origin: originOf(g) })],
    ['Sec-Fetch-Site with padding inside', () => ({ 'sec-fetch-site': 'same-origin ; x', origin: originOf(g) })],
    ['an empty Sec-Fetch-Site', () => ({ 'sec-fetch-site': '', origin: originOf(g) })],
  ];
  it.each(hostile)('refuses a read and a write with %s: 403 csrf_refused', async (_name, headers) => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/tokens', undefined],
      ['GET', '/api/v1/me', undefined],
      ['POST', '/api/v1/tokens', { name: 'csrf-x', scopes: ['admin'] }],
      ['DELETE', `/api/v1/sessions/${admin.id}`, undefined],
      ['POST', '/api/v1/tokens/rotate-admin', undefined],
    ] as const) {
      const res = await withCookie(path, method, headers(), body);
      expect([method, path, res.status, res.json?.code]).toEqual([method, path, 403, 'csrf_refused']);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    // Nothing happened: the session lives and no token was made.
    expect((await asPage(g, admin, '/api/v1/me')).status).toBe(200);
    expect((await g.fetch('/api/v1/tokens')).json.tokens.some((t: any) => t.name === 'csrf-x')).toBe(false);
  });

  it('refuses two Sec-Fetch-Site headers even when both say same-origin', async () => {
    const res = await rawRequest(
      port,
      `GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${admin.cookie}\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    expect(res.body).toContain('csrf_refused');
  });

  it.each([
    ['no Origin', {}],
    ['an Origin on another port of this host (allowed for tokens by allowedOrigins)', { origin: 'OTHER' }],
    ['Origin: null', { origin: 'null' }],
    ['the right host over https', { origin: 'HTTPS' }],
    ['localhost instead of 127.0.0.1 (another origin, though a name this gateway answers to)', { origin: 'LOCALHOST' }],
    ['an Origin with a path', { origin: 'PATH' }],
  ])('refuses a same-origin-claimed write with %s: 403 csrf_refused', async (_name, h: Record<string, string>) => {
    const map: Record<string, string> = {
      OTHER: OTHER_PORT(),
      HTTPS: `https://127.0.0.1:${port}`,
      LOCALHOST: `http://localhost:${port}`,
      PATH: `${originOf(g)}/console/`,
    };
    const headers: Record<string, string> = { 'sec-fetch-site': 'same-origin' };
    if (h.origin !== undefined) headers.origin = map[h.origin] ?? h.origin;
    for (const [method, path] of [
      ['POST', '/api/v1/tokens'],
      ['DELETE', '/api/v1/console/session'],
      ['PATCH', '/api/v1/config'],
    ] as const) {
      const res = await withCookie(path, method, headers, method === 'DELETE' ? undefined : {});
      expect([method, path, res.status, res.json?.code]).toEqual([method, path, 403, 'csrf_refused']);
    }
    expect((await asPage(g, admin, '/api/v1/me')).status).toBe(200);
  });

  it('accepts what the console page sends: same-origin reads, and writes with its own Origin (also bodyless ones)', async () => {
    expect((await asPage(g, admin, '/api/v1/tokens')).status).toBe(200);
    const created = await asPage(g, admin, '/api/v1/tokens', { method: 'POST', body: { name: 'from-console', scopes: ['read'] } });
    expect(created.status).toBe(201);
    expect((await asPage(g, admin, `/api/v1/tokens/${created.json.id}`, { method: 'DELETE' })).status).toBe(200);
    const other = await signIn(g, ['read']);
    expect((await asPage(g, admin, `/api/v1/sessions/${other.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('audits a refusal as guard.csrf with the route, method and client, never the cookie (repeats are counted)', async () => {
    const h = await startGateway({});
    try {
      const s = await signIn(h, ['admin']);
      const other = `http://127.0.0.1:${h.gw.port - 1}`;
      for (let i = 0; i < 3; i++) {
        const res = await h.fetch('/api/v1/tokens', {
          method: 'POST',
          auth: false,
          headers: { cookie: s.cookie, 'sec-fetch-site': 'same-site', origin: other, 'user-agent': 'csrf-audit-probe' },
          body: {},
        });
        expect(res.json.code).toBe('csrf_refused');
      }
      await h.fetch('/api/v1/audit?after=0&limit=1');
      const entries = readEntries(h.dataDir).filter((e) => e.type === 'guard.csrf');
      expect(entries[0]).toMatchObject({
        outcome: 'denied',
        code: 'csrf_refused',
        status: 403,
        method: 'POST',
        route: '/api/v1/tokens',
        client: '127.0.0.1',
        headers: { origin: other, 'user-agent': 'csrf-audit-probe' },
      });
      expect(JSON.stringify(readEntries(h.dataDir))).not.toContain(s.value);
      expect(h.logs.text).not.toContain(s.value);
      await h.gw.stop();
      const all = readEntries(h.dataDir).filter((e) => e.type === 'guard.csrf');
      const counted = all.reduce((n, e) => n + ((e.detail?.count as number | undefined) ?? 1), 0);
      expect(counted).toBeGreaterThanOrEqual(3);
    } finally {
      await h.stop();
    }
  });
});

describe('where the cookie is never a credential', () => {
  const page = { 'sec-fetch-site': 'same-origin' };
  it.each([
    ['the service proxy', 'GET', '/svc/echo/x'],
    ['metrics', 'GET', '/metrics'],
    ['the event WebSocket path as plain HTTP', 'GET', '/api/v1/ws'],
  ])('does not open %s: 401 as without it', async (_name, method, path) => {
    const res = await withCookie(path, method, page);
    expect(res.status).toBe(401);
    expect(['auth_required', 'not_found']).toContain(res.json.code);
  });

  it('does not open an inbound hook or an action link (their own credentials only)', async () => {
    const hook = await withCookie('/hooks/ci', 'POST', { ...page, origin: originOf(g), 'x-github-event': 'ping' }, { zen: 'x' });
    expect(hook.status).toBe(401);
    expect(hook.json.code).toBe('signature_invalid');
    const link = await withCookie('/actions/not-a-link', 'GET', page);
    expect(link.status).toBeGreaterThanOrEqual(400);
    expect(link.status).not.toBe(200);
  });

  it('does not open the event WebSocket', async () => {
    const res = await rawRequest(
      port,
      `GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${admin.cookie}\r\nSec-Fetch-Site: same-origin\r\nOrigin: ${originOf(g)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(res.status).toBe(401);
  });

  it('is stripped by the proxy, with or without the __Host- prefix, before anything reaches the service', async () => {
    const svc = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'csrf-svc', scopes: ['svc:echo'] } });
    const before = echo.seen.length;
    const res = await g.fetch('/svc/echo/cookies', {
      auth: svc.json.token,
      headers: { cookie: `${admin.cookie}; __Host-moat_session=${admin.value}; __Secure-moat_session=${admin.value}; theme=dark` },
    });
    expect(res.status).toBe(200);
    const seen = echo.seen.slice(before).filter((r) => r.url.endsWith('/cookies'));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers['cookie']).toBe('theme=dark');
    expect(JSON.stringify(seen[0]?.headers)).not.toContain(admin.value);
  });

  it('adds nothing to a bearer token: the token alone decides, and the CSRF guard does not look at the cookie', async () => {
    const read = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'csrf-read', scopes: ['read'] } });
    const res = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      auth: read.json.token,
      headers: { cookie: admin.cookie, 'sec-fetch-site': 'same-origin', origin: originOf(g) },
      body: { name: 'csrf-y', scopes: ['read'] },
    });
    expect([res.status, res.json.code]).toEqual([403, 'scope_required']);
    // A client with a token and a stray cookie from elsewhere is not refused for the cookie.
    const me = await g.fetch('/api/v1/me', { auth: read.json.token, headers: { cookie: admin.cookie, 'sec-fetch-site': 'cross-site' } });
    expect(me.json).toMatchObject({ kind: 'token', id: read.json.id });
  });
});

describe('cookie values that are not a live session', () => {
  const page = (cookie: string, path = '/api/v1/me') => g.fetch(path, { auth: false, headers: { cookie, 'sec-fetch-site': 'same-origin' } });
  it.each([
    ['a random value of the right shape', `moat_session=${'x'.repeat(43)}`],
    ['a value of the wrong shape', 'moat_session=abc'],
    ['an empty value', 'moat_session='],
    ['a token in the cookie', `moat_session=moat_${'a'.repeat(43)}`],
    ['the session value under another name', 'other=VALUE'],
    ['the value with a quote around it', 'moat_session="VALUE"'],
  ])('refuses %s with 401', async (_name, cookie) => {
    const res = await page(cookie.replace('VALUE', admin.value));
    expect(res.status).toBe(401);
    expect(['session_invalid', 'auth_required']).toContain(res.json.code);
  });

  it('takes the live session among cookies of the same name that another app on this host set (cookie tossing), in any order', async () => {
    const tossed = `moat_session=${'T'.repeat(43)}`;
    expect((await page(`${tossed}; ${admin.cookie}`)).json.id).toBe(admin.id);
    expect((await page(`${admin.cookie}; ${tossed}`)).json.id).toBe(admin.id);
  });

  it('clears a dead cookie with the refusal, and does not count it towards the lockout', async () => {
    const h = await startGateway({ lockout: { after: 2 } });
    try {
      const s = await signIn(h, ['read']);
      expect(
        (
          await h.fetch('/api/v1/console/session', {
            method: 'DELETE',
            auth: false,
            headers: { cookie: s.cookie, 'sec-fetch-site': 'same-origin', origin: originOf(h) },
          })
        ).status,
      ).toBe(204);
      for (let i = 0; i < 5; i++) {
        const res = await h.fetch('/api/v1/me', { auth: false, headers: { cookie: s.cookie, 'sec-fetch-site': 'same-origin' } });
        expect([res.status, res.json.code]).toEqual([401, 'session_invalid']);
        expect(String(res.headers['set-cookie'])).toMatch(/^moat_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
      }
      // Not locked out: a fresh sign-in from the same address still works.
      expect((await signIn(h, ['read'])).id).toMatch(/^ses_/);
    } finally {
      await h.stop();
    }
  });
});

describe('the sign-in exchange from a browser (login CSRF)', () => {
  it.each([
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['an Origin on another port, even one allowed for tokens', { origin: 'OTHER' }],
    ['same-origin fetch metadata with another Origin', { 'sec-fetch-site': 'same-origin', origin: 'OTHER' }],
  ])('refuses %s with 403 csrf_refused and leaves the code good', async (_name, h: Record<string, string>) => {
    const m = await mintConsoleCode(g);
    const headers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v === 'OTHER' ? OTHER_PORT() : v]));
    const res = await exchange(g, m.link, headers);
    expect([res.status, res.json.code]).toEqual([403, 'csrf_refused']);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect((await exchange(g, m.link, { 'sec-fetch-site': 'same-origin', origin: originOf(g) })).status).toBe(201);
  });
});
