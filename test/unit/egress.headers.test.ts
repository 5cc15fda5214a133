/** Outbound header hygiene: a caller cannot set Host, framing or hop-by-hop headers (smuggling, vhost confusion). */
import { describe, expect, it } from 'vitest';
import { USER_AGENT, flattenHeaders, outboundHeaders } from '../../src/egress/headers.js';

describe('outbound headers', () => {
  it('drop Host, framing, hop-by-hop and proxy headers, and lowercase the rest', () => {
    const out = outboundHeaders({
      Host: 'internal.admin',
      'Transfer-Encoding': 'chunked',
      'Content-Length': '0',
      Connection: 'keep-alive, x-forwarded-for',
      'Keep-Alive': 'timeout=5',
      Upgrade: 'websocket',
      TE: 'trailers',
      Trailer: 'x',
      Expect: '100-continue',
      'Proxy-Authorization': 'Basic eA==',
      'Proxy-Connection': 'keep-alive',
      'X-Trace': 't1',
      'Content-Type': 'application/json',
      Authorization: 'Bearer kept-for-its-origin',
    });
    expect(out).toEqual({ 'user-agent': USER_AGENT, 'x-trace': 't1', 'content-type': 'application/json', authorization: 'Bearer kept-for-its-origin' });
  });

  it('let the caller name its own User-Agent', () => {
    expect(outboundHeaders({ 'User-Agent': 'agent/2' })).toEqual({ 'user-agent': 'agent/2' });
    expect(outboundHeaders(undefined)).toEqual({ 'user-agent': USER_AGENT });
  });

  it('flatten repeated response headers', () => {
    expect(flattenHeaders({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain', x: undefined })).toEqual({
      'set-cookie': 'a=1, b=2',
      'content-type': 'text/plain',
    });
  });
});
