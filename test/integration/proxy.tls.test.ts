/**
 * The proxy behind TLS: an SSE stream over HTTP/2 (hop-by-hop headers would break it) and a
 * WebSocket over TLS (HTTP/1.1 upgrade on the secure listener), against the example worker.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

let g: TestGateway;
let ca: Buffer;

beforeAll(async () => {
  g = await startGateway({ tls: { enabled: true }, services: [spec(await workerService('worker'))], supervisor: { stopGraceMs: 1000 } });
  ca = readFileSync(join(g.dataDir, 'tls', 'cert.pem'));
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});

afterAll(async () => {
  await g?.stop();
});

describe('proxy over TLS', () => {
  it('streams SSE over HTTP/2, chunk by chunk', async () => {
    const session = http2.connect(g.url, { ca, servername: 'localhost' });
    try {
      const req = session.request({ ':path': '/svc/worker/stream?n=3&ms=20', authorization: `Bearer ${g.token}` });
      const headers = await new Promise<http2.IncomingHttpHeaders>((r) => req.once('response', r));
      expect(headers[':status']).toBe(200);
      expect(headers['content-type']).toBe('text/event-stream');
      expect(headers['connection']).toBeUndefined();
      let text = '';
      const chunks: string[] = [];
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        chunks.push(c);
        text += c;
      });
      await new Promise((r) => req.once('end', r));
      expect(text).toBe('data: chunk 0\n\ndata: chunk 1\n\ndata: chunk 2\n\n');
      expect(chunks.length).toBeGreaterThanOrEqual(3);
    } finally {
      session.close();
    }
  });

  it('proxies a WebSocket over TLS', async () => {
    const ws = new WebSocket(`${g.url.replace('https', 'wss')}/svc/worker/ws`, {
      ca,
      servername: 'localhost',
      headers: { authorization: `Bearer ${g.token}` },
    } as WebSocket.ClientOptions);
    const msg = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('over tls'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    expect(msg).toBe('over tls');
    ws.close();
    expect((await g.fetch('/svc/worker/health')).json).toEqual({ ok: true });
  });
});
