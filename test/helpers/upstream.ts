/** An in-process HTTP service for proxy tests: echoes what it received, streams on a gate, reports body chunks. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoServer {
  port: number;
  url: string;
  /** Requests seen: method, url, headers, body length. */
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; bytes: number }>;
  /** Opens the gate of a pending /sse/gated response (it then sends its second event and ends). */
  openGate(): void;
  /** Whether the gated SSE response has ended. */
  sseFinished(): boolean;
  /** Whether the gated SSE response was cut before it ended (the client went away). */
  sseAborted(): boolean;
  /** Resolves once a /upload request has delivered at least `n` body bytes. */
  uploadReached(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEcho(): Promise<EchoServer> {
  const seen: EchoServer['seen'] = [];
  let gate: () => void = () => undefined;
  let gateOpen = false;
  let finished = false;
  let aborted = false;
  let uploaded = 0;
  const uploadWaiters: Array<{ n: number; resolve: () => void }> = [];

  const server = http.createServer((req, res) => {
    const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes: 0 };
    seen.push(entry);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.endsWith('/sse/gated')) {
      gateOpen = false;
      finished = false;
      aborted = false;
      res.on('close', () => {
        if (!finished) aborted = true;
      });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      const finish = () => {
        res.end('data: two\n\n');
        finished = true;
      };
      if (gateOpen) finish();
      else gate = finish;
      return;
    }
    req.on('data', (c: Buffer) => {
      entry.bytes += c.length;
      if (path.endsWith('/upload')) {
        uploaded += c.length;
        for (const w of [...uploadWaiters]) {
          if (uploaded < w.n) continue;
          uploadWaiters.splice(uploadWaiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bytes: entry.bytes });
      res.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        'x-service': 'echo',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    openGate: () => {
      gateOpen = true;
      gate();
    },
    sseFinished: () => finished,
    sseAborted: () => aborted,
    uploadReached: (n) => (uploaded >= n ? Promise.resolve() : new Promise((resolve) => uploadWaiters.push({ n, resolve }))),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
