/**
 * Path confusion through the proxy, as an attacker sends it: every hostile spelling goes over a raw
 * socket (no client normalises it) to a real gateway in front of a recording service, and the test
 * asserts what the service received, or that it received nothing. Includes the published attacks
 * on Node.js reverse proxies: `..;/` path parameters, backslash dot segments, an encoded `/svc/<name>`
 * prefix, double encoding, absolute-form targets, WebSocket path traversal, a decoded route
 * parameter landing in the upstream path, and a Content-Length forwarded without its body.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';

let up: Recorder;
let g: TestGateway;
let echoToken: string;

beforeAll(async () => {
  up = await startRecorder();
  g = await startGateway({
    services: [
      { name: 'echo', kind: 'url', baseUrl: `${up.url}/base`, health: { path: '/health', intervalMs: 50 } },
      { name: 'other', kind: 'url', baseUrl: `${up.url}/other-base`, health: { path: '/health', intervalMs: 50 } },
    ],
    rateLimit: { general: { perMinute: 1_000_000 } },
  });
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'echo-user', scopes: ['svc:echo'] } });
  echoToken = res.json.token as string;
});

afterAll(async () => {
  await g?.stop();
  await up?.close();
});

beforeEach(() => up.clear());

/** One request over a raw socket, exactly as spelled. */
function raw(method: string, target: string, headers: string[] = [], body = '', token = g.token) {
  const head = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${g.gw.port}`, `Authorization: Bearer ${token}`, 'Connection: close', ...headers];
  return rawRequest(g.gw.port, `${head.join('\r\n')}\r\n\r\n${body}`);
}

const code = (body: string) => (body ? (JSON.parse(body) as { code?: string }).code : undefined);

describe('hostile spellings of the path never reach the service', () => {
  const port = () => g.gw.port;
  it.each([
    ['a path-parameter dot segment (Tomcat ..;/)', '/svc/echo/..;/admin'],
    ['a path-parameter dot segment with a value', '/svc/echo/a/..;jsessionid=x/admin'],
    ['a single dot with parameters', '/svc/echo/.;/admin'],
    ['an encoded dot segment with parameters', '/svc/echo/%2e%2e;/admin'],
    ['a plain dot segment', '/svc/echo/../admin'],
    ['a dot segment that climbs out of the base path', '/svc/echo/a/../../other-base/x'],
    ['an encoded dot segment', '/svc/echo/%2e%2e/admin'],
    ['a half-encoded dot segment', '/svc/echo/.%2E/admin'],
    ['a backslash dot segment', '/svc/echo/..\\admin'],
    ['a leading backslash dot segment', '/svc/echo/\\..\\admin'],
    ['an encoded backslash', '/svc/echo/..%5cadmin'],
    ['an encoded slash', '/svc/echo/..%2fadmin'],
    ['an encoded slash in upper case', '/svc/echo/a%2Fb'],
    ['an empty segment', '/svc/echo//admin'],
    ['an empty segment deeper down', '/svc/echo/a//b'],
    ['a double-encoded dot segment', '/svc/echo/%252e%252e/admin'],
    ['a double-encoded slash', '/svc/echo/a%252fb'],
    ['a NUL byte', '/svc/echo/a%00.json'],
    ['an encoded CR LF', '/svc/echo/a%0d%0aX-Injected:1'],
    ['a fragment', '/svc/echo/a#frag'],
    ['an encoded /svc/<name> prefix', '/svc/%65cho/x'],
    ['an encoded letter in the service name', '/svc/ech%6f/x'],
  ])('refuses %s with 400 path_not_allowed: %s', async (_label, target) => {
    const res = await raw('GET', target);
    expect(res.status, target).toBe(400);
    expect(code(res.body), target).toBe('path_not_allowed');
    expect(up.received()).toEqual([]);
  });

  it('refuses an absolute-form request target (it would reach the service under its base path)', async () => {
    for (const target of [`http://127.0.0.1:${port()}/svc/echo/x`, `http://127.0.0.1:${port()}/svc/echo/../other-base/x`]) {
      const res = await raw('GET', target);
      expect(res.status, target).toBe(400);
      expect(code(res.body), target).toBe('path_not_allowed');
    }
    expect(up.received()).toEqual([]);
  });

  it('never lets a decoded route parameter into the upstream path (/svc/echo%2f..%2fother/x)', async () => {
    // The router decodes the name to "echo/../other": no such service, and no such scope.
    const asAdmin = await raw('GET', '/svc/echo%2f..%2fother/x');
    expect(asAdmin.status).toBe(404);
    expect(code(asAdmin.body)).toBe('service_not_found');
    const asEcho = await raw('GET', '/svc/echo%2f..%2fother/x', [], '', echoToken);
    expect(asEcho.status).toBe(403);
    expect(code(asEcho.body)).toBe('scope_required');
    expect(up.received()).toEqual([]);
  });

  it('refuses a request line with raw non-ASCII or control bytes before routing (400 bad_request)', async () => {
    for (const target of ['/svc/echo/caf\u00e9', '/svc/echo/a\tb']) {
      const res = await raw('GET', target);
      expect(res.status, JSON.stringify(target)).toBe(400);
    }
    expect(up.received()).toEqual([]);
  });
});

describe('what the service does receive', () => {
  it.each([
    ['/svc/echo', '/base/'],
    ['/svc/echo/', '/base/'],
    ['/svc/echo?q=1', '/base/?q=1'],
    ['/svc/echo/v1/chat/completions', '/base/v1/chat/completions'],
    ['/svc/echo/a;jsessionid=1/b', '/base/a;jsessionid=1/b'],
    ['/svc/echo/x?path=../../other-base&u=%2f', '/base/x?path=../../other-base&u=%2f'],
    ['/svc/echo/caf%C3%A9/100%25off', '/base/caf%C3%A9/100%25off'],
    ['/svc/echo/.well-known/x', '/base/.well-known/x'],
  ])('forwards %s as %s', async (target, expected) => {
    const res = await raw('GET', target);
    expect(res.status).toBe(200);
    expect(up.received().map((r) => r.url)).toEqual([expected]);
  });
});

describe('framing: what the service receives matches what the client sent', () => {
  it('forwards a Content-Length with exactly its body, on a GET too', async () => {
    const res = await raw('GET', '/svc/echo/len', ['Content-Length: 5'], 'hello');
    expect(res.status).toBe(200);
    const [got] = up.received();
    expect(got?.headers['content-length']).toBe('5');
    expect(got?.body.toString()).toBe('hello');
  });

  it('forwards Content-Length: 0 with no body, and the next request on the pooled connection intact', async () => {
    expect((await raw('POST', '/svc/echo/empty', ['Content-Length: 0'])).status).toBe(200);
    expect((await raw('POST', '/svc/echo/after', ['Content-Length: 3', 'Content-Type: text/plain'], 'abc')).status).toBe(200);
    const got = up.received();
    expect(got.map((r) => [r.url, r.headers['content-length'], r.body.toString()])).toEqual([
      ['/base/empty', '0', ''],
      ['/base/after', '3', 'abc'],
    ]);
  });

  it('refuses Content-Length together with Transfer-Encoding (request smuggling) before the service sees it', async () => {
    const res = await raw(
      'POST',
      '/svc/echo/smuggle',
      ['Content-Length: 4', 'Transfer-Encoding: chunked'],
      '0\r\n\r\nGET /svc/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(res.status).toBe(400);
    expect(up.received()).toEqual([]);
  });

  it('streams a chunked upload as a body, never as Content-Length: 0', async () => {
    const res = await raw('POST', '/svc/echo/chunked', ['Transfer-Encoding: chunked', 'Content-Type: text/plain'], '3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    expect(res.status).toBe(200);
    const [got] = up.received();
    expect(got?.body.toString()).toBe('abcde');
    expect(got?.headers['content-length']).not.toBe('0');
  });
});

describe('WebSocket upgrades take the same path rules', () => {
  const upgrade = (target: string, extra: string[] = []) =>
    raw(
      'GET',
      target,
      ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...extra].filter(
        (h) => h !== 'Connection: close',
      ),
    );

  it.each([
    ['a dot segment', '/svc/echo/../other-base/ws'],
    ['a path-parameter dot segment', '/svc/echo/..;/ws'],
    ['an encoded dot segment', '/svc/echo/%2e%2e/ws'],
    ['a backslash', '/svc/echo/..\\ws'],
    ['an empty segment', '/svc/echo//ws'],
    ['an encoded slash', '/svc/echo/a%2fws'],
    ['an encoded prefix', '/svc/%65cho/ws'],
    ['double encoding', '/svc/echo/%252e%252e/ws'],
  ])('refuses an upgrade with %s (400 path_not_allowed, nothing upstream)', async (_label, target) => {
    const res = await upgrade(target);
    expect(res.status, target).toBe(400);
    expect(code(res.body), target).toBe('path_not_allowed');
    expect(up.received()).toEqual([]);
  });

  it('forwards a clean upgrade under the base path without the client X-Moat-* headers, and confines its cookies', async () => {
    up.respondWith({ 'set-cookie': ['sid=1; Path=/', 'moat_session=forged; Path=/'], 'strict-transport-security': 'max-age=0' });
    try {
      const res = await upgrade('/svc/echo/ws?room=1', ['X-Moat-Progress-Url: http://127.0.0.1:1/steal', 'X-Moat-Job-Id: j1']);
      expect(res.status).toBe(101);
      const got = up.received();
      expect(got.map((r) => [r.kind, r.url])).toEqual([['upgrade', '/base/ws?room=1']]);
      expect(Object.keys(got[0]?.headers ?? {}).filter((h) => h.startsWith('x-moat-'))).toEqual([]);
      expect(res.head).toMatch(/\r\nset-cookie: sid=1; Path=\/svc\/echo(\r\n|$)/i);
      expect(res.head).not.toMatch(/moat_session/);
      expect(res.head).not.toMatch(/strict-transport-security/i);
    } finally {
      up.respondWith({});
    }
  });
});
