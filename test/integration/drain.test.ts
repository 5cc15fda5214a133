/**
 * Graceful shutdown of a real process: on SIGTERM health turns 503 and the listener stays open
 * (a new connection hears 503 draining, not a refusal), an in-flight request (a slow upload)
 * completes, then it exits 0; past the drain timeout it closes.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { spawnServe } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { isListening } from '../helpers/net.js';
import { parsePrometheus, sampleValue } from '../helpers/prom.js';
import { waitFor } from '../helpers/services.js';

/** Requests the gateway has admitted and not finished (from its /metrics), not counting the scrape that asks. */
async function inflight(port: number, token: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return (sampleValue(parsePrometheus(await res.body.text()), 'moat_http_requests_in_flight') ?? 0) - 1;
}

/** Resolves when the socket has closed (at once if it has). */
const closedSocket = (socket: net.Socket) => new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())));

/** A keep-alive connection that sends raw requests and reads raw responses. */
function connection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('utf8');
  socket.on('data', (d) => {
    buffer += d;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('close', () => {
    for (const w of waiters.splice(0)) w();
  });
  return {
    socket,
    write: (text: string) => socket.write(text),
    /** Resolves with the next complete response (headers + Content-Length body). */
    async response(): Promise<{ status: number; body: string }> {
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end >= 0) {
          const head = buffer.slice(0, end);
          const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffer.length >= end + 4 + len) {
            const body = buffer.slice(end + 4, end + 4 + len);
            buffer = buffer.slice(end + 4 + len);
            return { status: Number(head.split(' ')[1]), body };
          }
        }
        if (socket.destroyed) throw new Error(`connection closed; got ${JSON.stringify(buffer)}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

describe('drain on SIGTERM', () => {
  it('finishes the in-flight request, answers health 503 meanwhile, answers new connections 503 draining, exits 0', async () => {
    const dataDir = tmpDir();
    const p = await spawnServe(['--data-dir', dataDir, '--port', '0', '--drain-timeout', '20']);
    const port = Number(new URL(p.url).port);
    const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    const host = `127.0.0.1:${port}`;

    const probe = connection(port);
    probe.write(`GET /api/v1/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    expect((await probe.response()).status).toBe(200);

    const body = JSON.stringify({ name: 'slow-upload', scopes: ['read'] });
    const slow = connection(port);
    slow.write(
      `POST /api/v1/tokens HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await waitFor(async () => (await inflight(port, token)) === 1, 'the slow upload to be admitted');

    p.child.kill('SIGTERM');
    await waitFor(() => /draining/.test(p.stderr()), 'the drain to begin');

    probe.write(`GET /api/v1/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const draining = await probe.response();
    expect(draining.status).toBe(503);
    expect(JSON.parse(draining.body)).toEqual({ status: 'draining' });
    // The listener stays open for the drain: a new client is told, not refused.
    expect(await isListening(port)).toBe(true);
    const late = connection(port);
    late.write(`GET /api/v1/status HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const told = await late.response();
    expect(told.status).toBe(503);
    expect(JSON.parse(told.body).code).toBe('draining');

    slow.write(body.slice(10));
    const done = await slow.response();
    expect(done.status).toBe(201);
    expect(JSON.parse(done.body)).toMatchObject({ name: 'slow-upload' });

    expect(await p.exited).toBe(0);
    expect(p.stderr()).toMatch(/draining/);
  });

  it('closes what is still in flight when the drain timeout passes, and still exits 0', async () => {
    const dataDir = tmpDir();
    const p = await spawnServe(['--data-dir', dataDir, '--port', '0', '--drain-timeout', '1']);
    const port = Number(new URL(p.url).port);
    const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    const stuck = connection(port);
    stuck.write(
      `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    await waitFor(async () => (await inflight(port, token)) === 1, 'the stuck upload to be admitted');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toMatch(/drain timeout/);
    // Cut at the end of the window: the socket closes (bounded by the test's timeout).
    await closedSocket(stuck.socket);
    expect(stuck.socket.destroyed || stuck.socket.readableEnded).toBe(true);
  });
});
