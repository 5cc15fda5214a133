/**
 * WebSocket upgrades through the proxy: an echo through to the example worker, and the same guards
 * as any request (token, scope, Host, Origin, the open-streams cap), answered on the raw socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

let g: TestGateway;
let workerToken: string;
let otherToken: string;

beforeAll(async () => {
  g = await startGateway({
    services: [spec(await workerService('worker'))],
    supervisor: { stopGraceMs: 1000 },
    limits: { maxStreams: 2, adminReservedStreams: 0, maxStreamsPerToken: 2, maxStreamsPerClient: 2 },
  });
  const mint = async (name: string, scopes: string[]) => (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes } })).json.token as string;
  workerToken = await mint('ws-user', ['svc:worker']);
  otherToken = await mint('ws-other', ['svc:elsewhere']);
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});

afterAll(async () => {
  await g?.stop();
});

const wsUrl = (path = '/svc/worker/ws') => `${g.url.replace(/^http/, 'ws')}${path}`;

function open(headers: Record<string, string>, path?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(path), { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            body: JSON.parse(body || '{}') as Record<string, unknown>,
            headers: res.headers,
          }),
        ),
      );
    });
    ws.once('error', reject);
  });
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.send(text);
  });
}

const closed = (ws: WebSocket) => new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', () => r())));

describe('WebSocket through the proxy', () => {
  it('echoes messages through to the service with scope svc:worker', async () => {
    const ws = await open({ authorization: `Bearer ${workerToken}` });
    expect(await echo(ws, 'hello')).toBe('hello');
    expect(await echo(ws, 'x'.repeat(100_000))).toHaveLength(100_000);
    ws.close();
    await closed(ws);
  });

  it.each([
    ['no token', {}, 401, 'auth_required'],
    ['a token for another service', { authorization: 'Bearer <other>' }, 403, 'scope_required'],
    ['a wrong token', { authorization: 'Bearer not-a-real-token-at-all-xxxxxxxxxxxxxxxx' }, 401, 'token_invalid'],
    ['a foreign Origin', { authorization: 'Bearer <worker>', origin: 'https://evil.example' }, 403, 'origin_not_allowed'],
    ['a foreign Host (DNS rebinding)', { authorization: 'Bearer <worker>', host: 'evil.example' }, 421, 'host_not_allowed'],
  ])('refuses an upgrade with %s: %i %s', async (_label, raw, status, code) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw as Record<string, string>)) headers[k] = v.replace('<other>', otherToken).replace('<worker>', workerToken);
    const err = (await open(headers).catch((e: unknown) => e)) as { status: number; body: Record<string, unknown> };
    expect(err.status).toBe(status);
    expect(err.body['code']).toBe(code);
    expect(err.body['requestId']).toEqual(expect.any(String));
  });

  it('audits a refused upgrade like any refused request', async () => {
    await open({}).catch(() => undefined);
    const entries = await waitFor(async () => {
      const res = await g.fetch('/api/v1/audit?after=0&limit=1000');
      const hit = (res.json.entries as Array<Record<string, unknown>>).filter((e) => e['type'] === 'auth.failure' && e['route'] === '/svc/:name/*');
      return hit.length > 0 ? hit : null;
    }, 'audited refusal');
    expect(entries[0]).toMatchObject({ outcome: 'denied', code: 'auth_required', method: 'GET' });
  });

  it('counts an open WebSocket against limits.maxStreams and frees the slot on close', async () => {
    const a = await open({ authorization: `Bearer ${workerToken}` });
    const b = await open({ authorization: `Bearer ${workerToken}` });
    const err = (await open({ authorization: `Bearer ${workerToken}` }).catch((e: unknown) => e)) as { status: number; body: Record<string, unknown> };
    expect(err.status).toBe(503);
    expect(err.body['code']).toBe('too_many_streams');
    a.close();
    await closed(a);
    const c = await waitFor(() => open({ authorization: `Bearer ${workerToken}` }).catch(() => null), 'slot freed');
    expect(await echo(c, 'again')).toBe('again');
    b.close();
    c.close();
    await Promise.all([closed(b), closed(c)]);
  });

  it('answers 502 upstream_failed when the service refuses the upgrade', async () => {
    const err = (await open({ authorization: `Bearer ${workerToken}` }, '/svc/worker/not-a-socket').catch((e: unknown) => e)) as {
      status: number;
      body: Record<string, unknown>;
    };
    expect(err.status).toBe(502);
    expect(err.body['code']).toBe('upstream_failed');
  });

  it('serves an Upgrade that is not a WebSocket to the proxy (curl --http2 sends h2c) as an ordinary request', async () => {
    const res = await rawRequest(
      g.gw.port,
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nAuthorization: Bearer ${g.token}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).version).toEqual(expect.any(String));
  });
});
