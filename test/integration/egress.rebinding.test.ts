/**
 * DNS rebinding against real sockets. The attacker's resolver answers an allowed address first and
 * 127.0.0.1 afterwards; a listener on 127.0.0.1 counts its connections and must never see one.
 * The allowed address is [::1], opened for the callback purpose by an operator exception (this
 * machine has no internet): it plays the public host, on the same port as the loopback listener.
 */
import type http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countingListener, httpServer, makeEgress, sequenceResolver, type Listening } from '../helpers/egress.js';

let evil: Awaited<ReturnType<typeof countingListener>>;
let good: Listening<http.Server>;
let goodHits = 0;
let port = 0;

beforeAll(async () => {
  evil = await countingListener('127.0.0.1');
  port = evil.port;
  good = await httpServer(
    '::1',
    (_req, res) => {
      goodHits++;
      // A fresh connection per request, so that every request needs a new resolution.
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' }).end('public answer');
    },
    port,
  );
});
afterAll(async () => {
  await good.close();
  await evil.close();
});
beforeEach(() => {
  goodHits = 0;
});

const OPERATOR = { purposes: { callback: { allowCidrs: ['::1/128'] } } };

describe('DNS rebinding', () => {
  it('resolves once per connection and connects to the address it checked; loopback is never reached', async () => {
    const resolver = sequenceResolver([['::1'], ['127.0.0.1']]);
    const { egress, audit } = makeEgress(OPERATOR, resolver);
    const url = `http://rebind.test:${port}/hook`;

    const first = await egress.request({ url, purpose: 'callback' });
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe('public answer');
    expect(resolver.calls).toEqual(['rebind.test']); // no second lookup by the HTTP library

    // The name now points at loopback: the next connection is refused at connect time.
    await expect(egress.request({ url, purpose: 'callback' })).rejects.toMatchObject({
      code: 'egress_denied',
      extra: { reason: 'loopback', purpose: 'callback' },
    });
    await expect(egress.request({ url, purpose: 'callback' })).rejects.toMatchObject({ code: 'egress_denied' });

    expect(resolver.calls).toEqual(['rebind.test', 'rebind.test', 'rebind.test']);
    expect(goodHits).toBe(1);
    expect(evil.connections()).toBe(0);
    expect(audit.events.filter((e) => e.type === 'egress.blocked').map((e) => e.detail)).toEqual([
      { purpose: 'callback', host: `rebind.test:${port}`, addresses: ['127.0.0.1'], reason: 'loopback', rule: '127.0.0.0/8' },
      { purpose: 'callback', host: `rebind.test:${port}`, addresses: ['127.0.0.1'], reason: 'loopback', rule: '127.0.0.0/8' },
    ]);
    await egress.stop();
  });

  it('an answer that was allowed by check() is no ticket: the request resolves and checks again', async () => {
    const resolver = sequenceResolver([['::1'], ['127.0.0.1']]);
    const { egress } = makeEgress(OPERATOR, resolver);
    const url = `http://rebind.test:${port}/`;
    expect(await egress.check(url, 'callback')).toMatchObject({ allowed: true, addresses: ['::1'] });
    await expect(egress.request({ url, purpose: 'callback' })).rejects.toMatchObject({ code: 'egress_denied', extra: { reason: 'loopback' } });
    expect(evil.connections()).toBe(0);
    expect(goodHits).toBe(0);
    await egress.stop();
  });

  it('a mixed answer (allowed and loopback) is refused as a whole, whatever order it comes in', async () => {
    for (const answer of [
      ['::1', '127.0.0.1'],
      ['127.0.0.1', '::1'],
      ['::1', '::ffff:127.0.0.1'],
    ]) {
      const { egress } = makeEgress(OPERATOR, sequenceResolver([answer]));
      await expect(egress.request({ url: `http://mixed.test:${port}/`, purpose: 'callback' })).rejects.toMatchObject({
        code: 'egress_denied',
        extra: { reason: 'loopback' },
      });
      await egress.stop();
    }
    expect(evil.connections()).toBe(0);
    expect(goodHits).toBe(0);
  });

  it('a purpose without the exception reaches neither address', async () => {
    const resolver = sequenceResolver([['::1'], ['127.0.0.1']]);
    const { egress } = makeEgress(OPERATOR, resolver);
    await expect(egress.request({ url: `http://rebind.test:${port}/`, purpose: 'fetch' })).rejects.toMatchObject({
      code: 'egress_denied',
      extra: { reason: 'loopback' },
    });
    expect(goodHits).toBe(0);
    expect(evil.connections()).toBe(0);
    await egress.stop();
  });

  it('IP-literal hosts are checked before connecting (no lookup happens for them)', async () => {
    const resolver = sequenceResolver([['::1']]);
    const { egress } = makeEgress(OPERATOR, resolver);
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '0x7f.1', '2130706433', '127.1']) {
      await expect(egress.request({ url: `http://${host}:${port}/`, purpose: 'callback' })).rejects.toMatchObject({
        code: 'egress_denied',
        extra: { reason: 'loopback' },
      });
    }
    const ok = await egress.request({ url: `http://[::1]:${port}/`, purpose: 'callback' });
    expect(ok.status).toBe(200);
    expect(resolver.calls).toEqual([]);
    expect(evil.connections()).toBe(0);
    await egress.stop();
  });
});
