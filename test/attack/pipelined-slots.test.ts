/**
 * Attack: connections that die with requests still queued must not keep their slots. HTTP/1.1:
 * 100 pipelined requests on one connection, dropped as soon as they are sent (Node never emits
 * 'close' on the queued responses). HTTP/2: 2,000 streams with padded headers, half cancelled at
 * once, and the socket dropped without a GOAWAY (the session ends closed but never destroyed).
 * Afterwards no slot is held, health answers 200 and admin requests succeed.
 */
import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { caOf, closed, expectNoSlotHeld, expectStillServing, h2Connect, inflightNow, rawConnect } from '../helpers/attack.js';
import { gateways, type TestGateway } from '../helpers/gateway.js';
import { tokenWith } from '../helpers/tools.js';

const start = gateways('each');
const boot = (values: Record<string, unknown> = {}): Promise<TestGateway> => start({ logLevel: 'warn', ...values });

/**
 * Writes `count` pipelined requests on one connection from `from` and drops the connection as soon
 * as they are handed to the kernel: the gateway reads them all and answers into a dead socket.
 */
async function pipelineAndDrop(g: TestGateway, path: string, extraHeaders: string, count: number, from: string): Promise<void> {
  const socket = await rawConnect(g, from);
  socket.on('error', () => undefined);
  const port = g.gw.port;
  let text = '';
  for (let i = 0; i < count; i++) text += `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extraHeaders}\r\n`;
  await new Promise<void>((resolve) => socket.write(text, () => resolve()));
  socket.destroy();
  await closed(socket);
}

describe.each([
  ['HTTP/1.1', false],
  ['HTTP/1.1 over TLS', true],
])('pipelined requests on a connection that dies (%s)', (_name, tls) => {
  it('releases the slots of 3 x 100 pipelined health checks: health answers 200 and admin requests succeed', async () => {
    const g = await boot(tls ? { tls: { enabled: true } } : {});
    for (let round = 0; round < 3; round++) await pipelineAndDrop(g, '/api/v1/health', '', 100, '127.0.0.2');
    await expectNoSlotHeld(g);
    await expectStillServing(g);
  });

  it('releases the slots of 3 x 100 pipelined requests of a read token: the token itself gets in again', async () => {
    const g = await boot(tls ? { tls: { enabled: true } } : {});
    const read = await tokenWith(g, 'pipeliner', ['read']);
    for (let round = 0; round < 3; round++) await pipelineAndDrop(g, '/api/v1/status', `Authorization: Bearer ${read}\r\n`, 100, '127.0.0.2');
    await expectNoSlotHeld(g);
    await expectStillServing(g);
    const again = await g.fetch('/api/v1/status', { auth: read });
    expect(again.status).toBe(200);
  });
});

describe('HTTP/2 rapid reset with padded headers and a dropped socket', () => {
  it('destroys the wedged sessions and their streams within limits.keepAliveTimeoutMs (3 trials of 2,000 streams)', async () => {
    const g = await boot({ tls: { enabled: true }, limits: { keepAliveTimeoutMs: 300 } });
    expect(caOf(g)).toMatch(/BEGIN CERTIFICATE/);
    const read = await tokenWith(g, 'h2-attacker', ['read']);
    const pad = 'x'.repeat(4000);
    for (let trial = 0; trial < 3; trial++) {
      const { session, socket } = await h2Connect(g, '127.0.0.2');
      session.on('error', () => undefined);
      socket.on('error', () => undefined);
      let firstAnswer: () => void = () => undefined;
      const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
      for (let i = 0; i < 2000; i++) {
        let stream: http2.ClientHttp2Stream;
        try {
          const path = i % 4 === 1 ? '/api/v1/status' : '/api/v1/health';
          stream = session.request({ ':path': path, authorization: `Bearer ${read}`, 'x-pad': pad, 'x-pad-2': pad });
        } catch {
          break; // the session gave up on its side: the streams sent so far are the attack
        }
        stream.on('error', () => undefined);
        stream.once('response', () => firstAnswer());
        if (i % 2 === 0) stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      // Until the gateway has answered something (bounded), then the socket goes without a GOAWAY.
      await Promise.race([answered, new Promise((r) => setTimeout(r, 3000))]);
      socket.destroy();
      await closed(socket);
    }
    await expectNoSlotHeld(g, 20_000);
    expect(await inflightNow(g)).toBe(0);
    await expectStillServing(g);
  });
});
