/**
 * Attack: slow unauthenticated bodies. POST /hooks/<name> reads its body before the signature can be
 * checked; 70 deliveries trickling 1 byte a second from two addresses (within the hooks rate limit)
 * must take no more than the unauthenticated budget (limits.maxInflightUnauthenticated), so the API,
 * health and admin stay up; and a body that stalls is cut with 408 after limits.bodyIdleTimeoutMs,
 * not held until limits.requestTimeoutMs. Over HTTP/1.1 and HTTP/2.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closed, expectNoSlotHeld, expectStillServing, h2Connect, inflightNow, rawConnect, waitFor } from '../helpers/attack.js';
import { gateways, type TestGateway } from '../helpers/gateway.js';
import { tokenWith } from '../helpers/tools.js';

const SECRET = 'slow-body-secret-0123456789';
const HOOKS = [{ name: 'gh', verify: 'github', secret: SECRET, action: { type: 'task', title: 'push' } }];
const ATTACKERS = ['127.0.0.2', '127.0.0.3'];
const CONNECTIONS = 70;

const start = gateways('each');
// Registered after the gateways': after-each hooks run last registered first, so the sockets close before the gateways stop.
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});
const boot = (values: Record<string, unknown> = {}): Promise<TestGateway> => start({ logLevel: 'error', hooks: HOOKS, ...values });

/** What came back on an attacking request: nothing yet, or its status. */
interface Attempt {
  status: number | null;
}

/** A delivery over HTTP/1.1 that announces 1,000 bytes and sends one a second. */
async function trickleH1(g: TestGateway, from: string): Promise<Attempt> {
  const socket: net.Socket = await rawConnect(g, from);
  socket.on('error', () => undefined);
  const attempt: Attempt = { status: null };
  socket.once('data', (d: Buffer) => (attempt.status = Number(d.toString('latin1').split(' ')[1])));
  socket.write(`POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
  const drip = setInterval(() => socket.writable && socket.write(' '), 1000);
  cleanup.push(() => {
    clearInterval(drip);
    socket.destroy();
  });
  return attempt;
}

/** The same delivery as a stream of an HTTP/2 session. */
function trickleH2(session: http2.ClientHttp2Session): Attempt {
  const attempt: Attempt = { status: null };
  const stream = session.request(
    { ':method': 'POST', ':path': '/hooks/gh', 'content-type': 'application/json', 'content-length': '1000' },
    { endStream: false },
  );
  stream.on('error', () => undefined);
  stream.once('response', (h) => (attempt.status = Number(h[':status'])));
  stream.write('{');
  const drip = setInterval(() => !stream.destroyed && stream.write(' '), 1000);
  cleanup.push(() => {
    clearInterval(drip);
    stream.close(http2.constants.NGHTTP2_CANCEL);
  });
  return attempt;
}

/** Waits until every attacking request is either answered or in flight at the gateway. */
async function attackInPlace(g: TestGateway, attempts: Attempt[]): Promise<void> {
  await waitFor(
    async () => attempts.filter((a) => a.status !== null).length + (await inflightNow(g)) >= attempts.length,
    'every slow delivery to be in flight or answered',
    15_000,
    50,
  );
}

async function expectApiUp(g: TestGateway, attempts: Attempt[]): Promise<void> {
  await expectStillServing(g);
  // A token without admin, from an address of its own, is served too: the deliveries hold only their budget.
  const read = await tokenWith(g, 'bystander', ['read']);
  expect((await g.fetch('/api/v1/status', { auth: read })).status).toBe(200);
  // Those beyond the unauthenticated budget were refused at once, not queued.
  const answered = attempts.filter((a) => a.status !== null);
  expect(answered.length).toBeGreaterThanOrEqual(CONNECTIONS - 16);
  expect(new Set(answered.map((a) => a.status))).toEqual(new Set([503]));
  expect(await inflightNow(g)).toBeLessThanOrEqual(16);
}

describe('70 slow unauthenticated deliveries from two addresses', () => {
  it('over HTTP/1.1 hold only the unauthenticated budget: health, admin and other tokens are served', async () => {
    const g = await boot();
    const attempts: Attempt[] = [];
    for (let i = 0; i < CONNECTIONS; i++) attempts.push(await trickleH1(g, ATTACKERS[i % 2] as string));
    await attackInPlace(g, attempts);
    await expectApiUp(g, attempts);
    for (const c of cleanup.splice(0)) c();
    await expectNoSlotHeld(g);
  });

  it('over HTTP/2 hold only the unauthenticated budget: health, admin and other tokens are served', async () => {
    const g = await boot({ tls: { enabled: true } });
    const attempts: Attempt[] = [];
    for (const from of ATTACKERS) {
      const { session } = await h2Connect(g, from);
      session.on('error', () => undefined);
      cleanup.push(() => session.destroy());
      for (let i = 0; i < CONNECTIONS / 2; i++) attempts.push(trickleH2(session));
    }
    await attackInPlace(g, attempts);
    await expectApiUp(g, attempts);
    for (const c of cleanup.splice(0)) c();
    await expectNoSlotHeld(g);
  });
});

describe('a delivery whose body stalls', () => {
  it('is cut with 408 request_timeout after limits.bodyIdleTimeoutMs over HTTP/1.1, and the connection closes', async () => {
    const g = await boot({ limits: { bodyIdleTimeoutMs: 300 } });
    const socket = await rawConnect(g, '127.0.0.2');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('utf8')));
    socket.on('error', () => undefined);
    socket.write(`POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ref":`);
    await Promise.race([closed(socket), new Promise((r) => setTimeout(r, 10_000))]);
    socket.destroy();
    expect(data).toMatch(/^HTTP\/1\.1 408 /);
    expect(data).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'request_timeout', status: 408 });
    await expectNoSlotHeld(g);
    await expectStillServing(g);
  });

  it('is cut with 408 request_timeout after limits.bodyIdleTimeoutMs over HTTP/2', async () => {
    const g = await boot({ tls: { enabled: true }, limits: { bodyIdleTimeoutMs: 300 } });
    const { session } = await h2Connect(g, '127.0.0.2');
    try {
      const stream = session.request(
        { ':method': 'POST', ':path': '/hooks/gh', 'content-type': 'application/json', 'content-length': '100' },
        { endStream: false },
      );
      stream.write('{"ref":');
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (text += d));
      stream.on('error', () => undefined);
      const status = await Promise.race([
        new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status'])))),
        new Promise<number>((r) => setTimeout(() => r(0), 10_000)),
      ]);
      expect(status).toBe(408);
      await new Promise((r) => stream.once('end', r));
      expect(JSON.parse(text)).toMatchObject({ code: 'request_timeout' });
    } finally {
      session.destroy();
    }
    await expectNoSlotHeld(g);
    await expectStillServing(g);
  });

  it('is not cut while bytes keep coming, and a signed delivery sent in pieces is accepted', async () => {
    const g = await boot({ limits: { bodyIdleTimeoutMs: 400 } });
    const { createHmac } = await import('node:crypto');
    const body = JSON.stringify({ ref: 'refs/heads/main', pad: 'p'.repeat(40) });
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const socket = await rawConnect(g, '127.0.0.2');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('utf8')));
    socket.write(
      `POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: ${signature}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    // Ten pieces, each well inside the idle timeout: together longer than it (time itself is what is tested).
    for (let i = 0; i < 10; i++) {
      socket.write(body.slice(i * 6, (i + 1) * 6));
      await new Promise((r) => setTimeout(r, 100));
    }
    socket.write(body.slice(60));
    await closed(socket);
    expect(data).toMatch(/^HTTP\/1\.1 202 /);
  });
});
