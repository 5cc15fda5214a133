/** The redirect decision: next URL, method and body per status, credentials dropped on a cross-origin hop. */
import { describe, expect, it } from 'vitest';
import { isRedirect, nextHop, type Hop } from '../../src/egress/redirects.js';

const FROM = new URL('https://a.test/start?x=1');
const hop = (method: string, extra: Record<string, string> = {}): Hop => ({
  url: FROM.href,
  method,
  headers: {
    'content-type': 'application/json',
    authorization: 'Bearer s3cret',
    cookie: 'sid=1',
    'x-api-key': 'k',
    'x-moat-signature': 'sig',
    'x-trace': 't',
    ...extra,
  },
  body: '{"a":1}',
});

describe('which answers are redirects', () => {
  it.each([
    [301, 'x', true],
    [302, 'x', true],
    [303, 'x', true],
    [307, 'x', true],
    [308, 'x', true],
    [300, 'x', false],
    [304, 'x', false],
    [305, 'x', false],
    [200, 'x', false],
    [302, undefined, false],
    [302, '', false],
  ] as const)('%s with Location %j: %s', (status, location, expected) => {
    expect(isRedirect(status, location)).toBe(expected);
  });
});

describe('the next hop', () => {
  it.each([
    [301, 'POST', 'GET', false],
    [302, 'POST', 'GET', false],
    [303, 'POST', 'GET', false],
    [303, 'PUT', 'GET', false],
    [303, 'HEAD', 'HEAD', true],
    [307, 'POST', 'POST', true],
    [308, 'PUT', 'PUT', true],
    [301, 'PUT', 'PUT', true],
    [302, 'DELETE', 'DELETE', true],
  ] as const)('%s after %s is a %s (body kept: %s)', (status, method, next, keepsBody) => {
    const n = nextHop(hop(method), FROM, status, '/next') as Hop;
    expect(n.method).toBe(next);
    expect(n.body !== undefined).toBe(keepsBody);
    expect('content-type' in n.headers).toBe(keepsBody);
  });

  it('resolves a relative Location against the URL that answered', () => {
    expect(nextHop(hop('GET'), FROM, 302, '../b?y=2')?.url).toBe('https://a.test/b?y=2');
    expect(nextHop(hop('GET'), FROM, 302, '//b.test/c')?.url).toBe('https://b.test/c');
    expect(nextHop(hop('GET'), FROM, 302, 'http://127.0.0.1/')?.url).toBe('http://127.0.0.1/');
  });

  it('keeps credentials on a same-origin hop', () => {
    const n = nextHop(hop('GET'), FROM, 302, '/other') as Hop;
    expect(n.headers).toMatchObject({ authorization: 'Bearer s3cret', cookie: 'sid=1', 'x-api-key': 'k' });
  });

  it.each(['https://b.test/', 'http://a.test/', 'https://a.test:8443/', 'https://sub.a.test/'])('drops credentials and cookies on a hop to %s', (to) => {
    const n = nextHop(hop('GET', { 'proxy-authorization': 'Basic x', 'x-auth-token': 't', 'x-session-id': 's' }), FROM, 307, to) as Hop;
    expect(Object.keys(n.headers).sort()).toEqual(['content-type', 'x-trace']);
  });

  it('returns null for a Location that cannot be parsed', () => {
    expect(nextHop(hop('GET'), FROM, 302, 'http://[::1')).toBeNull();
  });
});
