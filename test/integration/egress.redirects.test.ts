/**
 * Redirects against real servers: an allowed server (on [::1], opened by an operator exception)
 * redirecting to loopback, metadata and other schemes is refused at the hop, and the listener on
 * 127.0.0.1 sees nothing; at most maxRedirects hops; credentials stay with their origin.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingListener, httpServer, makeEgress, tableResolver, type Listening } from '../helpers/egress.js';

let evil: Awaited<ReturnType<typeof countingListener>>;
let a: Listening<http.Server>;
let b: Listening<http.Server>;
const seen: Array<{ server: string; method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];

function handler(server: string): http.RequestListener {
  return (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ server, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const u = new URL(req.url ?? '/', 'http://x');
      const chain = /^\/chain\/(\d+)$/.exec(u.pathname);
      if (chain) {
        const n = Number(chain[1]);
        if (n === 0) return res.writeHead(200).end('end of chain');
        return res.writeHead(302, { location: `/chain/${n - 1}` }).end('moved');
      }
      if (u.pathname === '/to')
        return res.writeHead(Number(u.searchParams.get('s') ?? 302), { location: u.searchParams.get('u') ?? '', 'set-cookie': 'hop=1; Path=/' }).end('moved');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server, method: req.method, body }));
    });
  };
}

beforeAll(async () => {
  evil = await countingListener('127.0.0.1');
  a = await httpServer('::1', handler('a'));
  b = await httpServer('::1', handler('b'));
});
afterAll(async () => {
  await Promise.all([a.close(), b.close(), evil.close()]);
});

const resolver = tableResolver({ 'loopback.test': ['127.0.0.1'], 'b.test': ['::1'] });
const { egress, audit } = makeEgress({ purposes: { fetch: { allowCidrs: ['::1/128'] }, notify: { allowCidrs: ['::1/128'], maxRedirects: 0 } } }, resolver);
afterAll(() => egress.stop());

const A = () => `http://[::1]:${a.port}`;
const to = (target: string, status = 302) => `${A()}/to?s=${status}&u=${encodeURIComponent(target)}`;

describe('every hop is checked again', () => {
  const targets = (p: number): Array<readonly [string, string]> => [
    [`http://127.0.0.1:${p}/secret`, 'loopback'],
    [`http://[::ffff:127.0.0.1]:${p}/`, 'loopback'],
    [`http://0x7f.1:${p}/`, 'loopback'],
    [`http://2130706433:${p}/`, 'loopback'],
    [`http://loopback.test:${p}/`, 'loopback'],
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'metadata'],
    ['http://[fd00:ec2::254]/latest/', 'metadata'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['http://10.0.0.1/', 'private'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    [`gopher://127.0.0.1:${p}/_SET%20x`, 'scheme_not_allowed'],
    [`http://user:pw@[::1]:${p}/`, 'userinfo_not_allowed'],
    ['http://[::1', 'unparseable'],
  ];

  it.each([301, 302, 303, 307, 308])('a %s to loopback, metadata or another scheme is refused at the hop', async (status) => {
    for (const [target, reason] of targets(evil.port)) {
      const err = await egress.request({ url: to(target, status), purpose: 'fetch', requestId: 'req-1' }).catch((e: unknown) => e);
      expect({ target, err }).toMatchObject({ target, err: { code: 'egress_denied', extra: { reason, purpose: 'fetch' } } });
    }
    expect(evil.connections()).toBe(0);
  });

  it('refuses after a chain of allowed hops and audits the hop that was refused', async () => {
    const before = audit.events.length;
    const start = `${A()}/to?u=${encodeURIComponent(`/to?u=${encodeURIComponent(`http://127.0.0.1:${evil.port}/admin?token=SECRET`)}`)}`;
    await expect(egress.request({ url: start, purpose: 'fetch', actor: { id: 't1', name: 'agent' }, requestId: 'req-2' })).rejects.toMatchObject({
      code: 'egress_denied',
    });
    const [event] = audit.events.slice(before);
    expect(event).toEqual({
      type: 'egress.blocked',
      outcome: 'blocked',
      actor: { id: 't1', name: 'agent' },
      requestId: 'req-2',
      detail: { purpose: 'fetch', host: `127.0.0.1:${evil.port}`, addresses: ['127.0.0.1'], reason: 'loopback', rule: '127.0.0.0/8' },
    });
    expect(JSON.stringify(event)).not.toContain('SECRET');
    expect(evil.connections()).toBe(0);
  });
});

describe('the number of hops', () => {
  it('follows five redirects', async () => {
    const r = await egress.request({ url: `${A()}/chain/5`, purpose: 'fetch' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('end of chain');
    expect(r.url).toBe(`${A()}/chain/0`);
  });

  it('refuses the sixth with too_many_redirects', async () => {
    await expect(egress.request({ url: `${A()}/chain/6`, purpose: 'fetch' })).rejects.toMatchObject({
      code: 'egress_denied',
      extra: { reason: 'too_many_redirects' },
    });
  });

  it('follows none where the purpose allows none', async () => {
    await expect(egress.request({ url: `${A()}/chain/1`, purpose: 'notify' })).rejects.toMatchObject({
      code: 'egress_denied',
      extra: { reason: 'too_many_redirects' },
    });
  });
});

describe('credentials on redirects', () => {
  const headers = { authorization: 'Bearer s3cret', cookie: 'sid=42', 'x-api-key': 'k', 'x-trace': 'trace-1', 'content-type': 'text/plain' };

  it('are dropped on a cross-origin hop; method and body survive a 307', async () => {
    seen.length = 0;
    const r = await egress.request({ url: to(`http://b.test:${b.port}/echo`, 307), purpose: 'fetch', method: 'POST', headers, body: 'payload' });
    expect(JSON.parse(r.body.toString())).toEqual({ server: 'b', method: 'POST', body: 'payload' });
    const atB = seen.find((s) => s.server === 'b');
    expect(atB?.headers).toMatchObject({ 'x-trace': 'trace-1', 'content-type': 'text/plain' });
    expect(atB?.headers).not.toHaveProperty('authorization');
    expect(atB?.headers).not.toHaveProperty('cookie');
    expect(atB?.headers).not.toHaveProperty('x-api-key');
    expect(seen.find((s) => s.server === 'a')?.headers).toMatchObject({ authorization: 'Bearer s3cret', cookie: 'sid=42' });
  });

  it('are kept on a same-origin hop', async () => {
    seen.length = 0;
    await egress.request({ url: to('/echo'), purpose: 'fetch', headers });
    expect(seen.map((s) => [s.server, s.headers['authorization']])).toEqual([
      ['a', 'Bearer s3cret'],
      ['a', 'Bearer s3cret'],
    ]);
  });

  it('a 303 after a POST becomes a GET without the body', async () => {
    const r = await egress.request({ url: to('/echo', 303), purpose: 'fetch', method: 'POST', headers, body: 'payload' });
    expect(JSON.parse(r.body.toString())).toEqual({ server: 'a', method: 'GET', body: '' });
  });

  it('cookies set by a hop are never sent on the next one', async () => {
    seen.length = 0;
    await egress.request({ url: to('/echo'), purpose: 'fetch' });
    expect(seen.every((s) => s.headers['cookie'] === undefined)).toBe(true);
  });
});
