/**
 * A recording upstream for proxy attack tests: an in-process HTTP/1.1 service that remembers exactly
 * what reached it (request target, headers, body bytes; WebSocket upgrades too) and answers with
 * whatever headers a test asks it to send back (`respondWith`), so a test can assert what a hostile
 * request or a hostile service achieved. Moat's health probes are left out of `received()`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  kind: 'request' | 'upgrade';
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Recorder {
  port: number;
  url: string;
  /** What reached the service, oldest first (health probes excluded). */
  received(): Received[];
  /** Forgets what was received. */
  clear(): void;
  /** Resolves with the next request (or upgrade) that reaches the service, once its body has ended. */
  next(): Promise<Received>;
  /** Headers every later response (and every 101) carries, raw: repeated names as arrays. */
  respondWith(headers: Record<string, string | string[]>): void;
  close(): Promise<void>;
}

export async function startRecorder(): Promise<Recorder> {
  const seen: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  let extra: Record<string, string | string[]> = {};
  const record = (r: Received) => {
    if (r.headers['user-agent'] === 'moat-health-probe') return;
    seen.push(r);
    for (const w of waiters.splice(0)) w(r);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { kind: 'request', method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      record(r);
      const body = JSON.stringify({ url: r.url, bytes: r.body.length });
      res.writeHead(200, { ...extra, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const upgraded = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    record({ kind: 'upgrade', method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0) });
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade'];
    for (const [name, value] of Object.entries(extra)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    received: () => [...seen],
    clear: () => void seen.splice(0),
    next: () => new Promise((resolve) => waiters.push(resolve)),
    respondWith: (headers) => void (extra = headers),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
        server.close(() => r());
      }),
  };
}
