/**
 * The authenticated reverse proxy from outside: a real gateway on port 0 in front of an in-process
 * service and the example worker. Scopes, what headers cross, streaming both ways, on-demand start,
 * and what a client gets when the service is down.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { rawRequest } from '../helpers/raw.js';
import { FAST, spec, waitFor, workerService } from '../helpers/services.js';
import { startEcho, type EchoServer } from '../helpers/upstream.js';

let echo: EchoServer;
/** Requests the service saw, other than moat's health probes. */
const forwarded = () => echo.seen.filter((r) => r.headers['user-agent'] !== 'moat-health-probe').length;
let g: TestGateway;
const tokens: Record<string, string> = {};

async function mint(name: string, scopes: string[]): Promise<string> {
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes } });
  expect(res.status).toBe(201);
  return res.json.token as string;
}

beforeAll(async () => {
  echo = await startEcho();
  const downPort = await freePort();
  g = await startGateway({
    services: [
      { name: 'echo', kind: 'url', baseUrl: `${echo.url}/base`, health: { path: '/health', intervalMs: 50 } },
      { name: 'down', kind: 'url', baseUrl: `http://127.0.0.1:${downPort}`, health: FAST.health },
      spec(await workerService('worker', { autoStart: false })),
    ],
    supervisor: { stopGraceMs: 1000 },
    proxy: { maxBodyBytes: 1_048_576 },
  });
  tokens['echo'] = await mint('echo-user', ['svc:echo']);
  tokens['other'] = await mint('other-user', ['svc:other']);
  tokens['read'] = await mint('reader', ['read', 'services']);
  tokens['worker'] = await mint('worker-user', ['svc:worker']);
});

afterAll(async () => {
  await g?.stop();
  await echo?.close();
});

describe('scope', () => {
  it('forwards with scope svc:echo or admin', async () => {
    expect((await g.fetch('/svc/echo/hello', { auth: tokens['echo'] })).status).toBe(200);
    expect((await g.fetch('/svc/echo/hello')).status).toBe(200);
  });

  it.each([
    ['a token for another service', 'other', 403, 'scope_required'],
    ['a read token (read never opens the proxy)', 'read', 403, 'scope_required'],
  ])('refuses %s with %i %s', async (_label, who, status, code) => {
    const res = await g.fetch('/svc/echo/hello', { auth: tokens[who] });
    expect(res.status).toBe(status);
    expect(res.json.code).toBe(code);
    expect(res.json.scope).toBe('svc:echo');
  });

  it('refuses a request without a token with 401 auth_required, before the service sees it', async () => {
    const before = forwarded();
    const res = await g.fetch('/svc/echo/hello', { auth: false });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('auth_required');
    expect(forwarded()).toBe(before);
  });

  it('answers 404 service_not_found for a name nobody registered', async () => {
    const res = await g.fetch('/svc/ghost/x');
    expect(res.status).toBe(404);
    expect(res.json.code).toBe('service_not_found');
  });
});

describe('headers', () => {
  it('never forwards Authorization, sets X-Forwarded-For/-Proto/-Host, and drops hop-by-hop headers', async () => {
    const res = await rawRequest(
      g.gw.port,
      [
        'GET /svc/echo/hdr?q=1 HTTP/1.1',
        `Host: 127.0.0.1:${g.gw.port}`,
        `Authorization: Bearer ${tokens['echo']}`,
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Host: evil.example',
        'Forwarded: for=6.6.6.6',
        'X-Real-IP: 6.6.6.6',
        'Connection: close, X-Hop',
        'X-Hop: secret',
        'Keep-Alive: timeout=5',
        'Proxy-Authorization: Basic c2VjcmV0',
        'TE: trailers',
        'X-Kept: yes',
        '',
        '',
      ].join('\r\n'),
    );
    expect(res.status).toBe(200);
    const got = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    expect(got.url).toBe('/base/hdr?q=1');
    const h = got.headers;
    expect(h['authorization']).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h['x-hop']).toBeUndefined();
    expect(h['te']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h['forwarded']).toBeUndefined();
    expect(h['x-real-ip']).toBeUndefined();
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${g.gw.port}`);
    expect(h['x-kept']).toBe('yes');
    expect(h['host']).toBe(`127.0.0.1:${echo.port}`);
    expect(h['x-request-id']).toBe(res.headers['x-request-id']);
  });

  it("passes the service's own headers back but not its CORS headers (CORS is decided at the door)", async () => {
    const res = await g.fetch('/svc/echo/x', { auth: tokens['echo'] });
    expect(res.headers['x-service']).toBe('echo');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses dot segments (path traversal out of the base path) with 400 path_not_allowed', async () => {
    const before = forwarded();
    for (const path of ['/svc/echo/a/../../x', '/svc/echo/%2e%2e/x', '/svc/echo/..%2fx', '/svc/echo/.%2E/x']) {
      const res = await rawRequest(
        g.gw.port,
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nAuthorization: Bearer ${g.token}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).code, path).toBe('path_not_allowed');
    }
    expect(forwarded()).toBe(before);
  });
});

describe('streaming', () => {
  it('delivers SSE chunks before the service has finished its response', async () => {
    const res = await request(`${g.url}/svc/echo/sse/gated`, { headers: { authorization: `Bearer ${tokens['echo']}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const it = res.body[Symbol.asyncIterator]();
    const first = await it.next();
    expect(Buffer.from(first.value as Buffer).toString()).toContain('data: one');
    expect(echo.sseFinished()).toBe(false);
    echo.openGate();
    let rest = '';
    for (let r = await it.next(); !r.done; r = await it.next()) rest += Buffer.from(r.value as Buffer).toString();
    expect(rest).toContain('data: two');
    expect(echo.sseFinished()).toBe(true);
  });

  it('stops the service response when the client goes away mid-stream', async () => {
    const res = await request(`${g.url}/svc/echo/sse/gated`, { headers: { authorization: `Bearer ${tokens['echo']}` } });
    const it = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value as Buffer).toString()).toContain('data: one');
    res.body.destroy();
    await waitFor(() => echo.sseAborted(), 'service saw the client leave');
    expect(echo.sseFinished()).toBe(false);
    expect(g.gw.parts.supervisor.status('echo').activeRequests).toBe(0);
  });

  it('streams a request body to the service while the client is still sending it', async () => {
    const body = new PassThrough();
    const pending = request(`${g.url}/svc/echo/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['echo']}`, 'content-type': 'application/octet-stream' },
      body,
    });
    body.write(Buffer.alloc(1000, 1));
    await echo.uploadReached(1000); // the service has the first part; the client has not ended
    body.end(Buffer.alloc(500, 2));
    const res = await pending;
    const got = (await res.body.json()) as { bytes: number };
    expect(got.bytes).toBe(1500);
  });

  it('forwards bodies larger than the JSON body limit (limits.maxBodyBytes) without buffering them', async () => {
    const res = await g.fetch('/svc/echo/big', {
      method: 'PUT',
      auth: tokens['echo'],
      raw: Buffer.alloc(600_000, 7),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.json.bytes).toBe(600_000);
  });

  it('refuses a body over proxy.maxBodyBytes with 413 body_too_large', async () => {
    const res = await g.fetch('/svc/echo/big', {
      method: 'POST',
      auth: tokens['echo'],
      raw: Buffer.alloc(1_048_577),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('body_too_large');
  });
});

describe('availability', () => {
  it('answers 503 service_unavailable with Retry-After while the service is down', async () => {
    const res = await g.fetch('/svc/down/x');
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('service_unavailable');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('starts a stopped command service on demand and forwards once it is healthy', async () => {
    expect(g.gw.parts.supervisor.state('worker')).toBe('stopped');
    const res = await g.fetch('/svc/worker/health', { auth: tokens['worker'] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ok: true });
    expect(g.gw.parts.supervisor.state('worker')).toBe('healthy');
    // The POST reaches the worker, but never with a client's X-Moat-Job-Id: only Moat's dispatcher
    // sets X-Moat-* (proxy.authority.test.ts), so the worker refuses a job posted through the proxy.
    const job = await g.fetch('/svc/worker/jobs', {
      method: 'POST',
      auth: tokens['worker'],
      headers: { 'x-moat-job-id': 'j-1' },
      body: { steps: 2, stepMs: 5 },
    });
    expect(job.status).toBe(400);
    expect(job.json).toEqual({ error: 'X-Moat-Job-Id header is required' });
  });

  it('audits proxied writes with the route pattern and the scope, never the path the client sent', async () => {
    await g.fetch('/svc/echo/secret-path?token=abc', { method: 'POST', auth: tokens['echo'], body: { a: 1 } });
    // The audit writer is asynchronous: poll through the API until the entry is there.
    const find = async () => {
      const entries = await g.fetch('/api/v1/audit?after=0&limit=1000');
      const writes = (entries.json.entries as Array<Record<string, unknown>>).filter((e) => e['type'] === 'http.write' && e['scope'] === 'svc:echo');
      return writes.length > 0 ? { entries, writes } : null;
    };
    const { entries, writes } = await waitFor(find, 'audited proxied write');
    expect(writes[writes.length - 1]).toMatchObject({ method: 'POST', route: '/svc/:name/*', status: 200, actor: { name: 'echo-user' } });
    expect(JSON.stringify(entries.json)).not.toContain('secret-path');
  });
});
