/**
 * Request bodies through the proxy over HTTP/2 (TLS): a body needs no Content-Length there, so a
 * streamed upload must reach the service whole (it used to arrive as `content-length: 0`), and a
 * stream that ends with its headers must reach it with no body at all. Real TLS gateway, real
 * HTTP/2 client, a recording service.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';

let up: Recorder;
let g: TestGateway;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  up = await startRecorder();
  g = await startGateway({
    tls: { enabled: true },
    services: [{ name: 'echo', kind: 'url', baseUrl: `${up.url}/base`, health: { path: '/health', intervalMs: 50 } }],
  });
  session = http2.connect(g.url, { ca: readFileSync(join(g.dataDir, 'tls', 'cert.pem')), servername: 'localhost' });
});

afterAll(async () => {
  session?.close();
  await g?.stop();
  await up?.close();
});

beforeEach(() => up.clear());

/** Sends one HTTP/2 request; `chunks` are written as separate DATA frames, then the stream ends. */
function h2(headers: http2.OutgoingHttpHeaders, chunks: string[] | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ authorization: `Bearer ${g.token}`, ...headers }, { endStream: chunks === null });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    if (chunks !== null) {
      for (const c of chunks) req.write(c);
      req.end();
    }
  });
}

describe('HTTP/2 request bodies through the proxy', () => {
  it('forwards a streamed upload without Content-Length whole (not as content-length: 0)', async () => {
    const res = await h2({ ':method': 'POST', ':path': '/svc/echo/upload', 'content-type': 'application/octet-stream' }, ['first-', 'second-', 'third']);
    expect(res.status).toBe(200);
    const [got] = up.received();
    expect(got?.body.toString()).toBe('first-second-third');
    expect(got?.headers['content-length']).not.toBe('0');
  });

  it('forwards a PUT body sent in one DATA frame without Content-Length', async () => {
    const res = await h2({ ':method': 'PUT', ':path': '/svc/echo/put', 'content-type': 'application/json' }, ['{"a":1}']);
    expect(res.status).toBe(200);
    expect(up.received().map((r) => [r.method, r.url, r.body.toString()])).toEqual([['PUT', '/base/put', '{"a":1}']]);
  });

  it('forwards a body with its Content-Length as sent', async () => {
    const res = await h2({ ':method': 'POST', ':path': '/svc/echo/len', 'content-type': 'text/plain', 'content-length': '5' }, ['hello']);
    expect(res.status).toBe(200);
    const [got] = up.received();
    expect([got?.headers['content-length'], got?.body.toString()]).toEqual(['5', 'hello']);
  });

  it('forwards a stream that ended with its headers with no body', async () => {
    const res = await h2({ ':method': 'GET', ':path': '/svc/echo/nobody' }, null);
    expect(res.status).toBe(200);
    const [got] = up.received();
    expect(got?.body.length).toBe(0);
    expect(got?.headers['transfer-encoding']).toBeUndefined();
  });

  it('never forwards a Content-Length without the body it announces (the next request on the pooled connection would be read as that body)', async () => {
    // HEADERS with content-length: 5 and END_STREAM: no body follows. HTTP/2 refuses the stream.
    const lying = await h2({ ':method': 'POST', ':path': '/svc/echo/lying', 'content-length': '5' }, null).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    expect(lying).toMatch(/PROTOCOL_ERROR/);
    const next = await h2({ ':method': 'POST', ':path': '/svc/echo/next', 'content-type': 'text/plain' }, ['abc']);
    expect(next.status).toBe(200);
    expect(up.received().map((r) => [r.url, r.body.toString()])).toEqual([['/base/next', 'abc']]);
  });
});
