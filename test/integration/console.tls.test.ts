/**
 * The console over TLS: the session cookie is `__Host-moat_session` with Secure (host-only, Path=/:
 * nothing on another name, path or plain-HTTP page can set or shadow it), a `moat_session` cookie
 * is never honoured there (cookie tossing from plain HTTP), and the CSRF guard takes the gateway's
 * https origin, over HTTP/1.1 and over HTTP/2 (`:authority`).
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieOf, exchange, mintConsoleCode } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway;
let cookie: string;
let value: string;
beforeAll(async () => {
  g = await startGateway({ tls: { enabled: true } }, { consoleAssets: join(process.cwd(), 'test', 'fixtures', 'no-console') });
  const m = await mintConsoleCode(g, ['admin']);
  expect(m.signinUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/console\/#signin=/);
  const res = await exchange(g, m.link);
  expect(res.status).toBe(201);
  const c = cookieOf(res);
  cookie = c.pair;
  value = c.value;
  expect(c.setCookie.split('; ')).toEqual([`__Host-moat_session=${value}`, 'Path=/', 'Max-Age=43200', 'HttpOnly', 'SameSite=Strict', 'Secure']);
});
afterAll(() => g?.stop());

const origin = () => new URL(g.url).origin;

describe('the cookie over TLS', () => {
  it('is __Host-moat_session, Secure, Path=/, without Domain, and authenticates the console page', async () => {
    expect(cookie.startsWith('__Host-moat_session=')).toBe(true);
    const me = await g.fetch('/api/v1/me', { auth: false, headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    expect(me.json.kind).toBe('session');
    const write = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      auth: false,
      headers: { cookie, 'sec-fetch-site': 'same-origin', origin: origin() },
      body: { name: 'tls-page', scopes: ['read'] },
    });
    expect(write.status).toBe(201);
  });

  it('never honours the plain-HTTP name moat_session, even with the right value', async () => {
    const res = await g.fetch('/api/v1/me', { auth: false, headers: { cookie: `moat_session=${value}`, 'sec-fetch-site': 'same-origin' } });
    expect([res.status, res.json.code]).toEqual([401, 'auth_required']);
  });

  it('refuses a write whose Origin is the http:// twin of the gateway', async () => {
    const res = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      auth: false,
      headers: { cookie, 'sec-fetch-site': 'same-origin', origin: origin().replace('https:', 'http:') },
      body: { name: 'tls-x', scopes: ['read'] },
    });
    expect([res.status, res.json.code]).toEqual([403, 'csrf_refused']);
  });

  it('clears a dead session with a __Host- Secure removal', async () => {
    const m = await mintConsoleCode(g);
    const s = cookieOf(await exchange(g, m.link));
    expect(
      (
        await g.fetch('/api/v1/console/session', {
          method: 'DELETE',
          auth: false,
          headers: { cookie: s.pair, 'sec-fetch-site': 'same-origin', origin: origin() },
        })
      ).status,
    ).toBe(204);
    const res = await g.fetch('/api/v1/me', { auth: false, headers: { cookie: s.pair, 'sec-fetch-site': 'same-origin' } });
    expect(res.json.code).toBe('session_invalid');
    expect(String(res.headers['set-cookie'])).toBe('__Host-moat_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure');
  });
});

describe('over HTTP/2', () => {
  function h2(headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(g.url, { ca: readFileSync(join(g.dataDir, 'tls', 'cert.pem')), servername: 'localhost' });
      session.on('error', reject);
      const req = session.request(headers);
      let status = 0;
      let text = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        session.close();
        resolve({ status, body: text });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it("takes the :authority as the gateway's own origin for a write, and refuses another", async () => {
    const base = { cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' };
    // The client connects with servername localhost, so its :authority is localhost:<port>.
    const own = `https://localhost:${g.gw.port}`;
    const ok = await h2({ ':method': 'POST', ':path': '/api/v1/tokens', ...base, origin: own }, JSON.stringify({ name: 'tls-h2', scopes: ['read'] }));
    expect(ok.status, ok.body).toBe(201);
    const other = await h2({ ':method': 'POST', ':path': '/api/v1/tokens', ...base, origin: origin() }, JSON.stringify({ name: 'tls-h2b', scopes: ['read'] }));
    expect([other.status, JSON.parse(other.body).code]).toEqual([403, 'csrf_refused']);
  });
});

describe('behind a reverse proxy that terminates TLS (docs/deployment.md)', () => {
  /** What nginx forwards for a browser on https://moat.example.com. */
  const viaProxy = { host: 'moat.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

  it('takes the https origin and gives a __Host- Secure cookie when the proxy is trusted', async () => {
    const h = await startGateway({ publicNames: ['moat.example.com'], trustedProxies: ['127.0.0.1'], lockout: { after: 1000 } });
    try {
      const m = await mintConsoleCode(h, ['admin']);
      const res = await h.fetch('/api/v1/console/session', {
        method: 'POST',
        auth: false,
        body: { code: m.link },
        headers: { ...viaProxy, 'sec-fetch-site': 'same-origin', origin: 'https://moat.example.com' },
      });
      expect(res.status, res.text).toBe(201);
      const c = cookieOf(res);
      expect(c.setCookie).toMatch(/^__Host-moat_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict; Secure$/);
      const page = { ...viaProxy, cookie: c.pair, 'sec-fetch-site': 'same-origin' };
      const write = await h.fetch('/api/v1/tokens', {
        method: 'POST',
        auth: false,
        headers: { ...page, origin: 'https://moat.example.com' },
        body: { name: 'behind-proxy', scopes: ['read'] },
      });
      expect(write.status, write.text).toBe(201);
      const plainOrigin = await h.fetch('/api/v1/tokens', {
        method: 'POST',
        auth: false,
        headers: { ...page, origin: 'http://moat.example.com' },
        body: { name: 'behind-proxy-2', scopes: ['read'] },
      });
      expect(plainOrigin.json.code).toBe('csrf_refused');
      // The same cookie sent straight to the gateway (no proxy saying https) is not the plain-HTTP cookie.
      const direct = await h.fetch('/api/v1/me', { auth: false, headers: { cookie: c.pair, 'sec-fetch-site': 'same-origin' } });
      expect(direct.json.code).toBe('auth_required');
    } finally {
      await h.stop();
    }
  });

  it('believes X-Forwarded-Proto from a trusted proxy only', async () => {
    const h = await startGateway({ publicNames: ['moat.example.com'], lockout: { after: 1000 } });
    try {
      const m = await mintConsoleCode(h);
      const forged = await h.fetch('/api/v1/console/session', {
        method: 'POST',
        auth: false,
        body: { code: m.link },
        headers: { ...viaProxy, 'sec-fetch-site': 'same-origin', origin: 'https://moat.example.com' },
      });
      expect([forged.status, forged.json.code]).toEqual([403, 'csrf_refused']);
      const plain = await h.fetch('/api/v1/console/session', { method: 'POST', auth: false, body: { code: m.link }, headers: { ...viaProxy } });
      expect(cookieOf(plain).pair).toMatch(/^moat_session=/);
    } finally {
      await h.stop();
    }
  });
});
