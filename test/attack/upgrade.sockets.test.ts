/**
 * Attack: upgrade requests whose sockets are never closed by the client. Once Node hands a socket
 * to 'upgrade', the server's timeouts no longer watch it, so every refused WebSocket and every
 * `Upgrade: h2c` served as an ordinary request used to keep its descriptor until the client left,
 * and a client that half-closed kept a served request's slots (an event stream's among them). A
 * client without a token could exhaust the gateway's descriptors this way.
 *
 * Each row opens 20 sockets from 127.0.0.2 that read the answer and never close their side; the
 * gateway must close every one of them. With a token, event streams asked for with `Upgrade: h2c`
 * and half-closed by the client must give back their stream and in-flight slots.
 */
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { expectNoSlotHeld, expectStillServing, metric, rawConnect, waitFor } from '../helpers/attack.js';
import { gateways, type TestGateway } from '../helpers/gateway.js';
import { tokenWith } from '../helpers/tools.js';

const start = gateways('each');
const SOCKETS = 20;

/** Server-side sockets open now (upgraded ones included: the server counts them until they close). */
function serverSockets(g: TestGateway): Promise<number> {
  const server = g.gw.parts.app.server;
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** Sends `request` and resolves with the first bytes of the answer; the client never closes its side. */
async function askAndLinger(g: TestGateway, request: string): Promise<{ socket: net.Socket; head: string }> {
  const socket = await rawConnect(g, '127.0.0.2');
  socket.allowHalfOpen = true;
  socket.on('error', () => undefined);
  const head = await new Promise<string>((resolve, reject) => {
    socket.once('data', (d: Buffer) => resolve(d.toString('latin1')));
    socket.once('close', () => reject(new Error('closed before any answer')));
    socket.write(request);
  });
  return { socket, head };
}

const hostile: Array<[string, (port: number) => string, RegExp]> = [
  [
    'Upgrade: h2c on a guarded route, no token',
    (p) =>
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    /^HTTP\/1\.1 401 /,
  ],
  ['Upgrade: h2c on health', (p) => `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`, /^HTTP\/1\.1 200 /],
  [
    'a WebSocket to a service, no token',
    (p) =>
      `GET /svc/llm/ HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    /^HTTP\/1\.1 401 /,
  ],
  [
    'a WebSocket to live events, no token',
    (p) =>
      `GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    /^HTTP\/1\.1 401 /,
  ],
  [
    'a WebSocket with a token in the query string',
    (p) =>
      `GET /api/v1/ws?token=abc HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    /^HTTP\/1\.1 401 /,
  ],
  [
    'a WebSocket from a foreign Host',
    () =>
      `GET /svc/llm/ HTTP/1.1\r\nHost: evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    /^HTTP\/1\.1 421 /,
  ],
];

describe('upgrade sockets a client never closes', () => {
  it.each(hostile)('%s: answered, then every socket is closed by the gateway', async (_name, request, answer) => {
    const g = await start({ logLevel: 'warn' });
    await g.fetch('/api/v1/health', { auth: false });
    const before = await serverSockets(g);
    const clients = await Promise.all(Array.from({ length: SOCKETS }, () => askAndLinger(g, request(g.gw.port))));
    for (const c of clients) expect(c.head).toMatch(answer);
    await waitFor(async () => (await serverSockets(g)) <= before, `the ${SOCKETS} lingering sockets to be closed by the gateway`, 15_000, 100);
    for (const c of clients) c.socket.destroy();
    await expectStillServing(g);
  });

  it('event streams asked for with Upgrade: h2c and half-closed by the client give back their slots', async () => {
    const perToken = 8;
    const g = await start({ logLevel: 'warn', limits: { maxStreamsPerToken: perToken } });
    const read = await tokenWith(g, 'lingerer', ['read']);
    const request = `GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nAuthorization: Bearer ${read}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`;
    for (let round = 0; round < 3; round++) {
      // Every round takes all the token's stream slots: a slot kept by the round before would refuse one.
      const clients = await Promise.all(Array.from({ length: perToken }, () => askAndLinger(g, request)));
      for (const c of clients) expect(c.head).toMatch(/^HTTP\/1\.1 200 [\s\S]*text\/event-stream/);
      expect(await metric(g, 'moat_event_streams_open')).toBe(perToken);
      for (const c of clients) c.socket.end();
      await waitFor(async () => (await metric(g, 'moat_event_streams_open')) === 0, 'every event stream to be closed', 15_000, 100);
    }
    await expectNoSlotHeld(g);
    await expectStillServing(g);
  });
});
