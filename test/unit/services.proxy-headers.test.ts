/** What crosses the proxy: credentials and spoofable claims stay out, hop-by-hop headers go, dot segments are caught. */
import { describe, expect, it } from 'vitest';
import { hasDotSegment, requestHeaders, responseHeaders } from '../../src/domain/services/proxy-headers.js';

const fwd = { client: '203.0.113.7', proto: 'https' as const, host: 'moat.example:7878', requestId: 'req-1' };

describe('request headers', () => {
  it('drops the client Authorization and Proxy-Authorization (credential leak to the service)', () => {
    const h = requestHeaders({ authorization: 'Bearer moat-secret', 'proxy-authorization': 'Basic x', accept: 'text/event-stream' }, fwd);
    expect(h).toEqual({ accept: 'text/event-stream', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'moat.example:7878', 'x-request-id': 'req-1' });
  });

  it('replaces client claims about where it came from (spoofing)', () => {
    const h = requestHeaders({ 'x-forwarded-for': '10.0.0.1', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'http', forwarded: 'for=10.0.0.1', 'x-real-ip': '10.0.0.1', 'x-request-id': 'client-chosen' }, fwd);
    expect(h['x-forwarded-for']).toBe('203.0.113.7');
    expect(h['x-forwarded-host']).toBe('moat.example:7878');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['forwarded']).toBeUndefined();
    expect(h['x-real-ip']).toBeUndefined();
    expect(h['x-request-id']).toBe('req-1');
  });

  it('drops hop-by-hop headers and those the Connection header names (RFC 9110 7.6.1)', () => {
    const h = requestHeaders(
      { connection: 'keep-alive, X-Internal, close', 'x-internal': '1', 'keep-alive': 'timeout=5', te: 'trailers', trailer: 'x', 'transfer-encoding': 'chunked', upgrade: 'websocket', 'proxy-connection': 'keep-alive', host: 'moat', expect: '100-continue', 'content-length': '10' },
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
  it('drops hop-by-hop and CORS headers, keeps the rest', () => {
    const h = responseHeaders({ connection: 'x-up', 'x-up': '1', 'transfer-encoding': 'chunked', 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true', 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] });
    expect(h).toEqual({ 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] });
  });
});

describe('dot segments', () => {
  it.each(['/..', '/../x', '/a/../../b', '/.', '/./x', '/%2e%2e/x', '/%2E./x', '/..%2fx', '/..%5cx', '/..\\x', '/a/%2e'])('catches %s', (p) => {
    expect(hasDotSegment(p)).toBe(true);
  });
  it.each(['/', '/a.b', '/..a', '/a..', '/v1/chat/completions', '/x?path=../..', '/.well-known/x'])('lets %s through', (p) => {
    expect(hasDotSegment(p)).toBe(false);
  });
});
