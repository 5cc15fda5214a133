/**
 * Helpers for the attacks of test/attack: raw HTTP/1.1 and HTTP/2 connections from a chosen
 * loopback address (127.0.0.2, 127.0.0.3, ...: each its own client to the gateway), the gateway's
 * own metrics read through the front door, and the check every attack ends with: health answers
 * and an admin request succeeds, over HTTP/1.1 and (on a TLS gateway) over HTTP/2.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { expect } from 'vitest';
import type { TestGateway } from './gateway.js';
import { parsePrometheus } from './prom.js';
import { waitFor } from './services.js';

export { waitFor };

/** The CA that signs a TLS gateway's certificate (its own self-signed one). */
export function caOf(g: TestGateway): string {
  return readFileSync(join(g.dataDir, 'tls', 'cert.pem'), 'utf8');
}

/** A TCP (or TLS, HTTP/1.1 by ALPN) connection to the gateway from `localAddress`. */
export function rawConnect(g: TestGateway, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const port = g.gw.port;
    const socket = g.gw.tlsFingerprint
      ? tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress }), ca: caOf(g), servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () =>
          resolve(socket),
        )
      : net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

export interface H2Connection {
  session: http2.ClientHttp2Session;
  /** The TLS socket under the session (the attack drops it without a goodbye). */
  socket: tls.TLSSocket;
}

/** An HTTP/2 session to a TLS gateway from `localAddress`. */
export function h2Connect(g: TestGateway, localAddress = '127.0.0.1'): Promise<H2Connection> {
  const ca = caOf(g);
  let socket: tls.TLSSocket | null = null;
  const session = http2.connect(`https://localhost:${g.gw.port}`, {
    createConnection: () =>
      (socket = tls.connect({ socket: net.connect({ host: '127.0.0.1', port: g.gw.port, localAddress }), ca, servername: 'localhost', ALPNProtocols: ['h2'] })),
  });
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve({ session, socket: socket as tls.TLSSocket }));
    session.once('error', reject);
  });
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One request over an HTTP/2 session, read to its end. */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      head = h;
      status = Number(h[':status']);
    });
    stream.on('data', (d: string) => (text += d));
    stream.on('end', () => {
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status, headers: head, text, json });
    });
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** A value of the gateway's own /metrics (summed over the series matching `labels`). */
export async function metric(g: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await g.fetch('/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text}`);
  const family = parsePrometheus(res.text).get(name);
  if (!family) throw new Error(`no metric ${name}`);
  return family.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

/** Requests in flight now, not counting the scrape that asks. */
export async function inflightNow(g: TestGateway): Promise<number> {
  return (await metric(g, 'moat_http_requests_in_flight')) - 1;
}

/** Waits (bounded) until nothing but the asking scrape is in flight: no slot was left behind. */
export async function expectNoSlotHeld(g: TestGateway, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await inflightNow(g)) === 0, 'every in-flight slot to be released', timeoutMs, 100);
}

/**
 * What every attack ends with: health answers 200 {"status":"ok"} (without a token) and an admin
 * request succeeds; on a TLS gateway over HTTP/2 as well.
 */
export async function expectStillServing(g: TestGateway): Promise<void> {
  const health = await g.fetch('/api/v1/health', { auth: false });
  expect(health.status).toBe(200);
  expect(health.json).toEqual({ status: 'ok' });
  const status = await g.fetch('/api/v1/status');
  expect(status.status).toBe(200);
  expect(status.json.version).toEqual(expect.any(String));
  if (!g.gw.tlsFingerprint) return;
  const { session } = await h2Connect(g);
  try {
    const h = await h2Request(session, { ':path': '/api/v1/health' });
    expect(h.status).toBe(200);
    expect(h.json).toEqual({ status: 'ok' });
    const s = await h2Request(session, { ':path': '/api/v1/status', authorization: `Bearer ${g.token}` });
    expect(s.status).toBe(200);
  } finally {
    session.close();
  }
}

/** Resolves when `socket` closed (or at once if it already did). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
