/**
 * CORS is default-deny: a request with an Origin that is not allowed is refused whatever its
 * method; allowed origins get their exact origin echoed (never *) and a preflight answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway({ allowedOrigins: ['https://app.example.com', 'http://localhost:*', 'https://*.tail.example.net', 'https://fixed.example.org:8443'] });
});
afterAll(() => g.stop());

describe('Origin allowlist', () => {
  it.each([
    ['https://app.example.com'],
    ['http://localhost:3000'],
    ['http://localhost'],
    ['https://phone.tail.example.net'],
    ['https://fixed.example.org:8443'],
  ])('echoes the allowed origin %s exactly, with Vary: Origin', async (origin) => {
    const res = await g.fetch('/api/v1/status', { headers: { origin } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['vary']).toMatch(/Origin/);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it.each([
    ['a foreign site', 'https://evil.example.com'],
    ['the right host over http', 'http://app.example.com'],
    ['the right host on another port', 'https://app.example.com:444'],
    ['a suffix trick', 'https://app.example.com.evil.net'],
    ['a prefix trick', 'https://evilapp.example.com'],
    ['two labels under the wildcard', 'https://a.b.tail.example.net'],
    ['the wildcard base itself', 'https://tail.example.net'],
    ['the wildcard pattern on another port', 'https://phone.tail.example.net:8443'],
    ['a fixed-port origin on the default port', 'https://fixed.example.org'],
    ['localhost over https', 'https://localhost:3000'],
    ['an opaque origin', 'null'],
    ['a file origin', 'file://'],
    ['an origin with a path', 'https://app.example.com/'],
    ['an origin with userinfo', 'https://user@app.example.com'],
    ['an uppercase origin', 'HTTPS://APP.EXAMPLE.COM'],
    ['garbage', 'not an origin'],
    ['an empty origin', ''],
    ['two origins in one header', 'https://app.example.com, https://evil.example.com'],
  ])('refuses %s with 403 origin_not_allowed', async (_name, origin) => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await g.fetch('/api/v1/status', { method, headers: { origin } });
      expect(res.status).toBe(403);
      expect(res.json.code).toBe('origin_not_allowed');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('refuses two Origin headers', async () => {
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nOrigin: https://app.example.com\r\nOrigin: https://evil.example.com\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(403);
  });

  it('refuses a disallowed origin before authentication, so a page cannot probe tokens', async () => {
    const res = await g.fetch('/api/v1/status', { auth: false, headers: { origin: 'https://evil.example.com' } });
    expect(res.status).toBe(403);
  });

  it('answers requests without an Origin (non-browser clients) normally, without CORS headers', async () => {
    const res = await g.fetch('/api/v1/status');
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS preflight', () => {
  it('answers an allowed preflight with the methods and headers the API uses', async () => {
    const res = await g.fetch('/api/v1/tokens', {
      method: 'OPTIONS',
      auth: false,
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/POST/);
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toMatch(/authorization/);
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toMatch(/content-type/);
  });

  it('refuses a preflight from a disallowed origin', async () => {
    const res = await g.fetch('/api/v1/tokens', {
      method: 'OPTIONS',
      auth: false,
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('origin patterns are checked at boot', () => {
  it.each([['*'], ['https://*'], ['*.example.com'], ['https://a.*.example.com'], ['https://*.com'], ['example.com'], ['https://app.example.com/path']])(
    'refuses the pattern %s',
    async (pattern) => {
      await expect(startGateway({ allowedOrigins: [pattern] })).rejects.toMatchObject({ code: 'config_invalid' });
    },
  );
});
