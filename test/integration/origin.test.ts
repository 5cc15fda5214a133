/**
 * CORS is default-deny: a request with an Origin that is not allowed is refused whatever its
 * method; allowed origins get their exact origin echoed (never *) and a preflight answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway({
    allowedOrigins: [
      'https://app.example.com',
      'http://localhost:*',
      'https://*.tail.example.net',
      'https://fixed.example.org:8443',
      'http://127.0.0.1:*',
      'http://[::1]:*',
      'HTTP://Upper.Example.com:80',
      'http://[0:0::2]:8080',
    ],
  });
});
afterAll(() => g.stop());

describe('Origin allowlist', () => {
  it.each([
    ['https://app.example.com'],
    ['http://localhost:3000'],
    ['http://localhost'],
    ['https://phone.tail.example.net'],
    ['https://fixed.example.org:8443'],
    ['http://localhost:1'],
    ['http://localhost:65535'],
    ['http://127.0.0.1:5173'],
    ['http://[::1]:5173'],
    ['http://upper.example.com'], // the pattern was written uppercase, with the default port
    ['http://[::2]:8080'], // the pattern was written as a non-canonical IPv6 literal
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

/**
 * RFC 6454 serialized origins, held strictly: `scheme://host:*` means any *port*, and a port is
 * 1-65535 in decimal without leading zeros and never the scheme's default written out; a host is
 * what a browser writes (no empty label, no trailing dot, no zone id, canonical addresses).
 */
describe('Origin parsing (hostile spellings sent over a raw socket)', () => {
  const hostile: Array<[string, string]> = [
    ['a port above 65535', 'http://localhost:99999'],
    ['a port of 65536', 'http://localhost:65536'],
    ['port 0', 'http://localhost:0'],
    ['a port with a leading zero', 'http://localhost:03000'],
    ['a port of zeros', 'http://localhost:00000'],
    ['an empty port', 'http://localhost:'],
    ['the default port written out', 'http://localhost:80'],
    ['the default port written out on a fixed origin', 'https://app.example.com:443'],
    ['a port with a sign', 'http://localhost:+3000'],
    ['a six-digit port', 'http://localhost:100000'],
    ['a trailing dot', 'http://localhost.:3000'],
    ['a trailing dot on an exact origin', 'https://app.example.com.'],
    ['a trailing dot under the wildcard', 'https://phone.tail.example.net.'],
    ['an empty label under the wildcard', 'https://.tail.example.net'],
    ['a doubled dot under the wildcard', 'https://phone..tail.example.net'],
    ['a label starting with a hyphen', 'https://-phone.tail.example.net'],
    ['a label of 64 characters', `https://${'a'.repeat(64)}.tail.example.net`],
    ['a percent-encoded label', 'https://ph%6Fne.tail.example.net'],
    ['userinfo', 'http://user@localhost:3000'],
    ['uppercase host', 'http://LOCALHOST:3000'],
    ['uppercase scheme', 'HTTP://localhost:3000'],
    ['a short IPv4 spelling', 'http://127.1:3000'],
    ['an IPv4 address with a leading zero', 'http://127.0.0.01:3000'],
    ['a hex IPv4 spelling', 'http://0x7f.0.0.1:3000'],
    ['a decimal IPv4 spelling', 'http://2130706433:3000'],
    ['a non-canonical IPv6 literal', 'http://[0:0:0:0:0:0:0:1]:3000'],
    ['an IPv6 literal in uppercase', 'http://[::FFFF:7F00:1]:3000'],
    ['an IPv4-mapped IPv6 spelling of loopback', 'http://[::ffff:7f00:1]:3000'],
    ['an IPv6 zone id', 'http://[fe80::1%25lo]:3000'],
    ['an IPv6 literal with a port above 65535', 'http://[::1]:70000'],
    ['an IPv6 literal without brackets', 'http://::1:3000'],
    ['a path', 'http://localhost:3000/'],
    ['a query', 'http://localhost:3000?x'],
    ['a fragment', 'http://localhost:3000#x'],
    ['a tab inside', 'http://local\thost:3000'],
    ['a backslash', 'http://localhost\\:3000'],
  ];
  it.each(hostile)('refuses %s with 403 origin_not_allowed', async (_name, origin) => {
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nOrigin: ${origin}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'origin_not_allowed' });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a preflight from an out-of-range port of an any-port pattern', async () => {
    const res = await g.fetch('/api/v1/tokens', {
      method: 'OPTIONS',
      auth: false,
      headers: { origin: 'http://localhost:99999', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(403);
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
  it.each([
    ['*'],
    ['https://*'],
    ['*.example.com'],
    ['https://a.*.example.com'],
    ['https://*.com'],
    ['example.com'],
    ['https://app.example.com/path'],
    ['http://localhost:99999'],
    ['http://localhost:0'],
    ['http://localhost:'],
    ['http://localhost:08080'],
    ['https://app.example.com.'],
    ['https://app..example.com'],
    ['https://*.tail.example.net.'],
    ['https://*.1.2.3.4'],
    ['http://127.1:*'],
    ['http://[::1%25lo]:*'],
    ['http://[1::2::3]'],
    [`https://${'a'.repeat(64)}.example.com`],
  ])('refuses the pattern %s', async (pattern) => {
    await expect(startGateway({ allowedOrigins: [pattern] })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
