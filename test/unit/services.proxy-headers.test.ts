/**
 * What crosses the proxy: credentials, spoofable claims and Moat's own headers stay out, hop-by-hop
 * headers go, the gateway's origin-wide headers win and a service's cookies stay under its path.
 * (Path spellings: services.proxy-path.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { confineCookie, requestHeaders, responseHeaders } from '../../src/domain/services/proxy-headers.js';

const fwd = { client: '203.0.113.7', proto: 'https' as const, host: 'moat.example:7878', requestId: 'req-1' };

describe('request headers', () => {
  it('drops the client Authorization and Proxy-Authorization (credential leak to the service)', () => {
    const h = requestHeaders({ authorization: 'Bearer moat-secret', 'proxy-authorization': 'Basic x', accept: 'text/event-stream' }, fwd);
    expect(h).toEqual({
      accept: 'text/event-stream',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'moat.example:7878',
      'x-request-id': 'req-1',
    });
  });

  it('replaces client claims about where it came from (spoofing)', () => {
    const h = requestHeaders(
      {
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil',
        'x-forwarded-proto': 'http',
        forwarded: 'for=10.0.0.1',
        'x-real-ip': '10.0.0.1',
        'x-request-id': 'client-chosen',
      },
      fwd,
    );
    expect(h['x-forwarded-for']).toBe('203.0.113.7');
    expect(h['x-forwarded-host']).toBe('moat.example:7878');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['forwarded']).toBeUndefined();
    expect(h['x-real-ip']).toBeUndefined();
    expect(h['x-request-id']).toBe('req-1');
  });

  it('drops hop-by-hop headers and those the Connection header names (RFC 9110 7.6.1)', () => {
    const h = requestHeaders(
      {
        connection: 'keep-alive, X-Internal, close',
        'x-internal': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'x',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        'proxy-connection': 'keep-alive',
        host: 'moat',
        expect: '100-continue',
        'content-length': '10',
      },
      fwd,
    );
    expect(Object.keys(h).sort()).toEqual(['content-length', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id']);
  });

  it('drops HTTP/2 pseudo-headers', () => {
    expect(requestHeaders({ ':path': '/x', ':authority': 'moat', accept: '*/*' }, fwd)['accept']).toBe('*/*');
    expect(Object.keys(requestHeaders({ ':path': '/x' }, fwd)).some((k) => k.startsWith(':'))).toBe(false);
  });
});

describe('response headers', () => {
  it('drops hop-by-hop and CORS headers, keeps the rest (cookies confined to the service path)', () => {
    const h = responseHeaders(
      {
        connection: 'x-up',
        'x-up': '1',
        'transfer-encoding': 'chunked',
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'content-type': 'text/event-stream',
        'set-cookie': ['a=1', 'b=2'],
      },
      'llm',
    );
    expect(h).toEqual({ 'content-type': 'text/event-stream', 'set-cookie': ['a=1; Path=/svc/llm', 'b=2; Path=/svc/llm'] });
  });

  it.each([
    ['strict-transport-security', 'max-age=0'],
    ['x-frame-options', 'ALLOWALL'],
    ['x-content-type-options', 'sniff'],
    ['referrer-policy', 'unsafe-url'],
    ['cache-control', 'public, max-age=31536000'],
    ['clear-site-data', '"cookies", "storage"'],
    ['service-worker-allowed', '/'],
    ['alt-svc', 'h2="evil.example:443"'],
    ['public-key-pins', 'pin-sha256="x"; max-age=9999999'],
  ])("drops the service's %s (the gateway's origin-wide headers win)", (name, value) => {
    expect(responseHeaders({ [name]: value, 'x-kept': '1' }, 'llm')).toEqual({ 'x-kept': '1' });
  });
});

describe("a service's cookies", () => {
  it.each([
    ['sid=1; Path=/', 'sid=1; Path=/svc/llm'],
    ['sid=1', 'sid=1; Path=/svc/llm'],
    ['sid=1; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Lax', 'sid=1; Secure; HttpOnly; SameSite=Lax; Path=/svc/llm'],
    ['sid=1; path=/api; DOMAIN=.example.com; Max-Age=60', 'sid=1; Max-Age=60; Path=/svc/llm'],
    ['sid=1; Path=/svc/other', 'sid=1; Path=/svc/llm'],
    ['__Secure-sid=1; Path=/; Secure', '__Secure-sid=1; Secure; Path=/svc/llm'],
  ])('confines %j to the service path', (cookie, expected) => {
    expect(confineCookie(cookie, 'llm')).toBe(expected);
  });

  it.each([
    ['a nameless cookie (its bare value would read as another name)', '=moat_session=forged; Path=/'],
    ['a cookie without =', 'moat_session; Path=/'],
    ['a __Host- cookie (only valid with Path=/)', '__Host-sid=1; Path=/; Secure'],
    ['a __host- cookie in another case', '__HOST-sid=1; Path=/; Secure'],
    ["one of Moat's names", 'moat_session=forged; Path=/'],
    ["one of Moat's names with a prefix", '__Secure-moat_session=forged; Secure'],
    ["one of Moat's names in another case", 'MOAT_SESSION=forged'],
  ])('drops %s', (_label, cookie) => {
    expect(confineCookie(cookie, 'llm')).toBeNull();
    expect(responseHeaders({ 'set-cookie': [cookie] }, 'llm')['set-cookie']).toBeUndefined();
  });
});

describe("Moat's own headers never reach the service", () => {
  it.each(['x-moat-progress-url', 'x-moat-progress-token', 'x-moat-job-id', 'x-moat-attempt', 'x-moat-workspace', 'x-moat-anything', 'moat-signature'])(
    'drops a client %s',
    (name) => {
      expect(requestHeaders({ [name]: 'http://127.0.0.1:1/steal', accept: '*/*' }, fwd)[name]).toBeUndefined();
    },
  );

  it("drops Moat's cookies from the client's Cookie header and keeps the service's", () => {
    expect(requestHeaders({ cookie: 'moat_session=secret; sid=1; __Host-moat-x=2; theme=dark' }, fwd)['cookie']).toBe('sid=1; theme=dark');
    expect(requestHeaders({ cookie: 'moat_session=secret' }, fwd)['cookie']).toBeUndefined();
  });
});
