/**
 * Size and time caps against real servers: a body that never ends, a Content-Length over the cap,
 * a body that drips, a server that never answers. Each is cut off (the server sees its socket
 * close), answered with egress_too_large or egress_timeout, and audited as egress.limit.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpServer, makeEgress, type Listening } from '../helpers/egress.js';
import { waitFor } from '../helpers/services.js';

let server: Listening<http.Server>;
const closed: string[] = [];

function endless(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(16_384, 97);
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
  };
  res.on('drain', pump);
  pump();
}

function drip(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  const timer = setInterval(() => res.write('.'), 20);
  res.on('close', () => clearInterval(timer));
}

beforeAll(async () => {
  server = await httpServer('::1', (req, res) => {
    const path = req.url ?? '/';
    res.on('close', () => closed.push(path));
    if (path === '/endless') return endless(res);
    if (path === '/declared') {
      res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
      return void res.write('x'.repeat(100));
    }
    if (path === '/drip') return drip(res);
    if (path === '/silent') return; // accepts, reads, never answers
    const size = /^\/bytes\/(\d+)$/.exec(path);
    if (size) return res.writeHead(200).end(Buffer.alloc(Number(size[1]), 98));
    res.writeHead(404).end();
  });
});
afterAll(() => server.close());

const OPEN = ['::1/128'];
const { egress, audit } = makeEgress({
  purposes: {
    fetch: { allowCidrs: OPEN, maxBytes: 65_536, timeoutMs: 5_000 },
    callback: { allowCidrs: OPEN, maxBytes: 1_073_741_824, timeoutMs: 300 },
  },
});
afterAll(() => egress.stop());
const url = (path: string) => `http://[::1]:${server.port}${path}`;

async function closedSoon(path: string): Promise<void> {
  await waitFor(() => closed.includes(path), `the server to see ${path} closed`, 2000, 10);
}

describe('response size cap', () => {
  it('passes a body up to maxBytes exactly', async () => {
    const r = await egress.request({ url: url('/bytes/65536'), purpose: 'fetch' });
    expect(r.body.length).toBe(65_536);
  });

  it('cuts off a body one byte over maxBytes', async () => {
    await expect(egress.request({ url: url('/bytes/65537'), purpose: 'fetch' })).rejects.toMatchObject({
      code: 'egress_too_large',
      status: 502,
      extra: { reason: 'too_large', purpose: 'fetch' },
    });
  });

  it('cuts off a server that streams forever', async () => {
    await expect(egress.request({ url: url('/endless'), purpose: 'fetch', requestId: 'r-endless' })).rejects.toMatchObject({ code: 'egress_too_large' });
    await closedSoon('/endless');
    expect(audit.events.find((e) => e.requestId === 'r-endless')).toMatchObject({
      type: 'egress.limit',
      outcome: 'blocked',
      detail: { purpose: 'fetch', host: `[::1]:${server.port}`, reason: 'too_large' },
    });
  });

  it('refuses a Content-Length over the cap before reading the body', async () => {
    await expect(egress.request({ url: url('/declared'), purpose: 'fetch' })).rejects.toMatchObject({ code: 'egress_too_large' });
    await closedSoon('/declared');
  });
});

describe('total time cap', () => {
  it('cuts off a body that drips slower than the purpose may take', async () => {
    await expect(egress.request({ url: url('/drip'), purpose: 'callback', requestId: 'r-drip' })).rejects.toMatchObject({
      code: 'egress_timeout',
      status: 504,
      extra: { reason: 'timeout', purpose: 'callback' },
    });
    await closedSoon('/drip');
    expect(audit.events.find((e) => e.requestId === 'r-drip')).toMatchObject({ type: 'egress.limit', detail: { reason: 'timeout' } });
  });

  it('cuts off a server that never answers', async () => {
    await expect(egress.request({ url: url('/silent'), purpose: 'callback' })).rejects.toMatchObject({ code: 'egress_timeout' });
    await closedSoon('/silent');
  });

  it('an endless body under a huge size cap is still cut off by time', async () => {
    closed.length = 0;
    await expect(egress.request({ url: url('/endless'), purpose: 'callback' })).rejects.toMatchObject({ code: 'egress_timeout' });
    await closedSoon('/endless');
  });
});

describe('upstream failures', () => {
  it('a refused connection to an allowed address is egress_failed, not a refusal', async () => {
    const gone = await httpServer('::1', () => undefined);
    await gone.close();
    await expect(egress.request({ url: `http://[::1]:${gone.port}/`, purpose: 'fetch' })).rejects.toMatchObject({
      code: 'egress_failed',
      status: 502,
      extra: { reason: 'ECONNREFUSED' },
    });
  });

  it('a header value with CR or LF never reaches the wire (request smuggling)', async () => {
    closed.length = 0;
    await expect(
      egress.request({ url: url('/bytes/1'), purpose: 'fetch', headers: { 'x-note': 'a\r\nHost: evil.test\r\n\r\nGET /admin HTTP/1.1' } }),
    ).rejects.toMatchObject({ code: 'egress_failed', extra: { reason: 'UND_ERR_INVALID_ARG' } });
    expect(closed).toEqual([]);
  });
});
