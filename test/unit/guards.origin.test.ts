/**
 * The origin guard alone, on the method and headers it reads and the reply it writes: cross-site
 * requests from origins not on the list, origins no browser would send, preflights, and the
 * action-link variant. The end-to-end cases are in test/integration/origin.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CORS_METHODS, originGuard, type CorsReply, type OriginRequest } from '../../src/security/origin-guard.js';
import { outcome } from '../helpers/refusal.js';

const ALLOWED = ['https://app.example.com', 'http://localhost:*', 'https://*.example.org', 'https://[::1]:8443'];

/** A reply that remembers what the guard wrote. */
function recorder() {
  const headers: Record<string, string> = {};
  const seen = { status: 0, sent: false };
  const reply: CorsReply = {
    header: (name, value) => void (headers[name] = value),
    code: (status) => void (seen.status = status),
    send: () => void (seen.sent = true),
  };
  return { reply, headers, seen };
}

const from = (origin: string | undefined, method = 'GET', extra: OriginRequest['headers'] = {}): OriginRequest => ({
  method,
  headers: { ...(origin === undefined ? {} : { origin }), ...extra },
});

describe('origin guard', () => {
  const guard = originGuard({ allowedOrigins: ALLOWED });

  it('lets a request without Origin through and writes no CORS header (not a cross-origin browser request)', () => {
    const r = recorder();
    expect(guard(from(undefined), r.reply)).toBe(false);
    expect(r.headers).toEqual({});
  });

  it.each([
    ['https://app.example.com'],
    ['http://localhost:3000'],
    ['http://localhost'],
    ['https://a.example.org'],
    ['https://x-1.example.org'],
    ['https://[::1]:8443'],
  ])('lets Origin %s through and echoes it exactly (never *)', (origin) => {
    const r = recorder();
    expect(guard(from(origin), r.reply)).toBe(false);
    expect(r.headers['access-control-allow-origin']).toBe(origin);
    expect(r.headers.vary).toBe('Origin');
  });

  it.each([
    ['https://evil.com', 'not listed'],
    ['http://app.example.com', 'another scheme'],
    ['https://app.example.com:8443', 'another port'],
    ['https://app.example.com.evil.com', 'a listed name as a prefix'],
    ['https://evilapp.example.com', 'a listed name as a suffix'],
    ['https://example.org', 'the wildcard parent itself'],
    ['https://a.b.example.org', 'two labels under the wildcard'],
    ['https://a.example.org:8443', 'a port the wildcard pattern does not name'],
    ['https://APP.example.com', 'uppercase (no browser serializes it)'],
    ['https://app.example.com:443', 'the default port written out'],
    ['https://app.example.com.', 'a trailing dot'],
    ['https://app.example.com/', 'a path'],
    ['https://user@app.example.com', 'userinfo'],
    ['http://localhost:0', 'port 0'],
    ['http://localhost:99999', 'a port past 65535'],
    ['http://localhost:03000', 'a port with a leading zero'],
    ['http://127.1', 'a short IPv4 form'],
    ['https://[0:0:0:0:0:0:0:1]:8443', 'IPv6 not in canonical form'],
    ['null', 'an opaque origin'],
    ['https://app.example.com, https://evil.com', 'two Origin headers joined'],
    ['', 'empty'],
  ])('refuses Origin %j (%s) with origin_not_allowed and writes no CORS header', (origin) => {
    const r = recorder();
    expect(outcome(() => guard(from(origin), r.reply))).toBe('origin_not_allowed');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a preflight from a listed origin itself, with 204 and the allowed methods', () => {
    const r = recorder();
    expect(guard(from('https://app.example.com', 'OPTIONS', { 'access-control-request-method': 'POST' }), r.reply)).toBe(true);
    expect(r.seen).toEqual({ status: 204, sent: true });
    expect(r.headers['access-control-allow-methods']).toBe(CORS_METHODS);
  });

  it('refuses a preflight from an origin not on the list before answering anything', () => {
    const r = recorder();
    expect(outcome(() => guard(from('https://evil.com', 'OPTIONS', { 'access-control-request-method': 'POST' }), r.reply))).toBe('origin_not_allowed');
    expect(r.seen).toEqual({ status: 0, sent: false });
  });
});

describe('origin guard for action links', () => {
  const guard = originGuard({ allowedOrigins: ['https://app.example.com'] });
  it.each([
    ['no Origin', from(undefined, 'POST')],
    ['Origin null (a no-referrer form post)', from('null', 'POST')],
    ['the gateway itself', from('https://gw.example.com:8443', 'POST', { host: 'gw.example.com:8443' })],
    ['a listed origin', from('https://app.example.com', 'POST', { host: 'gw.example.com:8443' })],
  ] as const)('lets %s through', (_what, req) => expect(outcome(() => guard.forLink(req))).toBe('ok'));
  it.each([
    ['another site', from('https://evil.com', 'POST', { host: 'gw.example.com:8443' })],
    ['a site whose name starts with the gateway', from('https://gw.example.com:8443.evil.com', 'POST', { host: 'gw.example.com:8443' })],
    ['a malformed Origin', from('https://gw.example.com:8443/', 'POST', { host: 'gw.example.com:8443' })],
    ['two Origins', from('https://gw.example.com:8443, https://evil.com', 'POST', { host: 'gw.example.com:8443' })],
  ] as const)('refuses %s with origin_not_allowed', (_what, req) => expect(outcome(() => guard.forLink(req))).toBe('origin_not_allowed'));
});

describe('origin guard options', () => {
  it.each([
    ['app.example.com'],
    ['https://*.com'],
    ['https://*.127.0.0.1'],
    ['https://example.com/path'],
    ['https://example.com:0'],
    ['https://exa mple.com'],
    ['https://a..example.com'],
    ['*'],
  ])('refuses the pattern %j at boot with config_invalid', (pattern) =>
    expect(outcome(() => originGuard({ allowedOrigins: [pattern] }))).toBe('config_invalid'),
  );
  it('canonicalizes patterns: the default port written out matches the origin without it', () => {
    const guard = originGuard({ allowedOrigins: ['https://App.Example.com:443'] });
    expect(outcome(() => guard(from('https://app.example.com'), recorder().reply))).toBe('ok');
  });
});
