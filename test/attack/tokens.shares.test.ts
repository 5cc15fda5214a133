/**
 * Attack: one low-privilege token uses up a shared budget. A `read` token opening 32 event streams
 * must not leave the admin's event stream or a proxied WebSocket with 503 too_many_streams; a
 * `svc:<name>` token holding 64 slow proxied responses must not leave the API with 503 overloaded.
 * Each token gets its share (429 concurrency_limited past it), admin keeps its reserve. Over
 * HTTP/1.1 and HTTP/2.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { caOf, expectNoSlotHeld, expectStillServing, h2Connect, h2Request, inflightNow, metric, rawConnect, waitFor } from '../helpers/attack.js';
import { gateways, type TestGateway } from '../helpers/gateway.js';
import { spec, workerService } from '../helpers/services.js';
import { openSse, type SseStream } from '../helpers/streams.js';
import { tokenWith } from '../helpers/tools.js';

const start = gateways('each');
// Registered after the gateways': after-each hooks run last registered first, so the sockets close before the gateways stop.
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function boot(values: Record<string, unknown> = {}): Promise<TestGateway> {
  const g = await start({ logLevel: 'error', services: [spec(await workerService('worker'))], supervisor: { stopGraceMs: 1000 }, ...values });
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
  return g;
}

/** Opens a proxied WebSocket to the worker's echo; resolves with the HTTP status (101 when open). */
function proxiedWs(g: TestGateway, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = `${g.url.replace(/^http/, 'ws')}/svc/worker/ws`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, ...(g.gw.tlsFingerprint ? { ca: caOf(g), servername: 'localhost' } : {}) });
    ws.once('open', () => {
      cleanup.push(() => ws.terminate());
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

/** An SSE stream of GET /api/v1/events over an HTTP/2 session; resolves with its status. */
function h2Events(session: http2.ClientHttp2Session, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/api/v1/events', authorization: `Bearer ${token}`, accept: 'text/event-stream' });
    stream.on('error', () => undefined);
    stream.once('response', (h) => resolve(Number(h[':status'])));
    stream.once('close', () => resolve(0));
    stream.resume();
    cleanup.push(() => stream.close(http2.constants.NGHTTP2_CANCEL));
    session.once('error', reject);
  });
}

describe('a read token opening 32 event streams', () => {
  it('over HTTP/1.1 gets its share (429 past it); the admin event stream and a proxied WebSocket still open', async () => {
    const g = await boot();
    const read = await tokenWith(g, 'stream-hog', ['read']);
    const svc = await tokenWith(g, 'ws-user', ['svc:worker']);
    const streams: SseStream[] = [];
    for (let i = 0; i < 32; i++) streams.push(await openSse(g.url, read));
    cleanup.push(() => {
      for (const s of streams) s.close();
    });
    const opened = streams.filter((s) => s.status === 200);
    const refused = streams.filter((s) => s.status !== 200);
    expect(opened).toHaveLength(8);
    expect(new Set(refused.map((s) => `${s.status} ${s.problem?.code}`))).toEqual(new Set(['429 concurrency_limited']));
    expect(refused[0]?.headers['retry-after']).toBeTruthy();
    expect(await metric(g, 'moat_inflight_budget_used', { kind: 'streams', class: 'top_token' })).toBe(8);

    const admin = await openSse(g.url, g.token);
    cleanup.push(() => admin.close());
    expect(admin.status).toBe(200);
    expect(await proxiedWs(g, svc)).toBe(101);
    await expectStillServing(g);
  });

  it('over HTTP/2 gets its share; the admin event stream and a proxied WebSocket still open', async () => {
    const g = await boot({ tls: { enabled: true } });
    const read = await tokenWith(g, 'stream-hog', ['read']);
    const svc = await tokenWith(g, 'ws-user', ['svc:worker']);
    const { session } = await h2Connect(g, '127.0.0.2');
    cleanup.push(() => session.destroy());
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push(await h2Events(session, read));
    expect(statuses.filter((s) => s === 200)).toHaveLength(8);
    expect(statuses.filter((s) => s === 429)).toHaveLength(24);

    const admin = await h2Connect(g);
    cleanup.push(() => admin.session.destroy());
    expect(await h2Events(admin.session, g.token)).toBe(200);
    expect(await proxiedWs(g, svc)).toBe(101);
    await expectStillServing(g);
  });
});

describe('a svc:<name> token holding 64 slow proxied responses', () => {
  const SLOW = '/svc/worker/stream?n=10000&ms=1000';

  it('over HTTP/1.1 holds only its share: admin, health and other tokens are served', async () => {
    const g = await boot();
    const svc = await tokenWith(g, 'slow-reader', ['svc:worker']);
    const statuses: Array<number | null> = [];
    for (let i = 0; i < 64; i++) {
      const socket: net.Socket = await rawConnect(g);
      socket.on('error', () => undefined);
      cleanup.push(() => socket.destroy());
      const at = statuses.push(null) - 1;
      socket.once('data', (d: Buffer) => (statuses[at] = Number(d.toString('latin1').split(' ')[1])));
      socket.write(`GET ${SLOW} HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nAuthorization: Bearer ${svc}\r\n\r\n`);
    }
    await waitFor(() => statuses.every((s) => s !== null), 'an answer to every slow request', 15_000, 50);
    expect(statuses.filter((s) => s === 200)).toHaveLength(16);
    expect(statuses.filter((s) => s === 429)).toHaveLength(48);

    await expectStillServing(g);
    const read = await tokenWith(g, 'bystander', ['read']);
    expect((await g.fetch('/api/v1/status', { auth: read })).status).toBe(200);
    expect(await metric(g, 'moat_inflight_budget_used', { kind: 'requests', class: 'top_token' })).toBe(16);
    for (const c of cleanup.splice(0)) c();
    await expectNoSlotHeld(g);
  });

  it('over HTTP/2 holds only its share: admin, health and other tokens are served', async () => {
    const g = await boot({ tls: { enabled: true } });
    const svc = await tokenWith(g, 'slow-reader', ['svc:worker']);
    const { session } = await h2Connect(g, '127.0.0.2');
    cleanup.push(() => session.destroy());
    const statuses = await Promise.all(
      Array.from(
        { length: 64 },
        () =>
          new Promise<number>((resolve) => {
            const stream = session.request({ ':path': SLOW, authorization: `Bearer ${svc}` });
            stream.on('error', () => resolve(0));
            stream.once('response', (h) => resolve(Number(h[':status'])));
            stream.resume();
          }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(16);
    expect(statuses.filter((s) => s === 429)).toHaveLength(48);
    expect(await inflightNow(g)).toBeGreaterThanOrEqual(16);

    await expectStillServing(g);
    const read = await tokenWith(g, 'bystander', ['read']);
    const other = await h2Connect(g);
    try {
      expect((await h2Request(other.session, { ':path': '/api/v1/status', authorization: `Bearer ${read}` })).status).toBe(200);
    } finally {
      other.session.close();
    }
    session.destroy();
    await expectNoSlotHeld(g);
  });
});
