/**
 * Who may do what with services, as tables of tokens: a `services` token registers only the
 * loopback targets the operator allows (supervisor.apiTargets), admin any loopback target; probe
 * details (status, error) are shown to `services` and admin only; service logs need `services`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { spec, waitFor, workerService } from '../helpers/services.js';
import { openSse } from '../helpers/streams.js';

let g: TestGateway;
/** A loopback server the operator allows (in apiTargets), answering 401 everywhere (a server with a key). */
let allowed: http.Server;
let allowedPort: number;
/** The first port of the range of supervisor.apiTargets (three ports from it, and [::1] ten past it). */
let rangeLow: number;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  allowed = http.createServer((_req, res) => {
    res.statusCode = 401;
    res.end();
  });
  await new Promise<void>((r) => allowed.listen(0, '127.0.0.1', r));
  allowedPort = (allowed.address() as AddressInfo).port;
  rangeLow = await freePort();
  g = await startGateway({
    supervisor: { apiTargets: [`127.0.0.1:${allowedPort}`, `${rangeLow}-${rangeLow + 2}`, `[::1]:${rangeLow + 10}`] },
    services: [spec(await workerService('worker', { autoStart: true }))],
  });
  for (const scopes of [['services'], ['read'], ['jobs'], ['svc:worker'], ['admin']]) {
    tokens[scopes.join(',')] = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: scopes.join('-').replace(':', '-'), scopes } })).json.token;
  }
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});
afterAll(async () => {
  await g?.stop();
  allowed?.close();
});

const register = (token: string, name: string, baseUrl: string, extra: Record<string, unknown> = {}) =>
  g.fetch('/api/v1/services', { method: 'POST', auth: token, body: { name, kind: 'url', baseUrl, autoStart: false, ...extra } });

describe('registering targets: services tokens within supervisor.apiTargets, admin any loopback', () => {
  it.each([
    ['the SSH port', 'http://127.0.0.1:22'],
    ['the database port', 'http://127.0.0.1:5432/'],
    ['the default port 80 (no port in the URL)', 'http://127.0.0.1'],
    ['https on 443', 'https://localhost'],
    ['another loopback address than the one allowed', 'http://127.0.0.2:PORT'],
    ['localhost instead of the allowed 127.0.0.1', 'http://localhost:PORT'],
    ['the gateway itself', 'GATEWAY'],
    ['one port past the allowed range', 'http://127.0.0.1:RANGE3'],
    ['IPv6 loopback on a port allowed for [::1] + 1', 'http://[::1]:RANGE11'],
  ])('refuses a services token %s with 400 service_target_refused; admin may', async (_label, raw) => {
    const low = rangeLow;
    const baseUrl = raw
      .replace('PORT', String(allowedPort))
      .replace('RANGE3', String(low + 3))
      .replace('RANGE11', String(low + 11))
      .replace('GATEWAY', g.url);
    const name = `t${Math.random().toString(36).slice(2, 10)}`;
    const refused = await register(tokens['services']!, name, baseUrl);
    expect(refused.status).toBe(400);
    expect(refused.json.code).toBe('service_target_refused');
    expect(refused.json.detail).toContain('supervisor.apiTargets');
    // Also a PATCH that moves an allowed service there.
    const moved = `m${name}`;
    expect((await register(tokens['services']!, moved, `http://127.0.0.1:${allowedPort}`)).status).toBe(201);
    const patched = await g.fetch(`/api/v1/services/${moved}`, { method: 'PATCH', auth: tokens['services']!, body: { baseUrl } });
    expect(patched.json.code).toBe('service_target_refused');
    expect((await g.fetch(`/api/v1/services/${moved}`)).json.baseUrl).toBe(`http://127.0.0.1:${allowedPort}`);
    // The operator's token reaches any loopback target (moat service add uses it).
    expect((await register(tokens['admin']!, name, baseUrl)).status).toBe(201);
  });

  it.each([
    ['the allowed host:port', () => `http://127.0.0.1:${allowedPort}`],
    ['a port in the allowed range', () => `http://127.0.0.1:${rangeLow + 2}/v1`],
    ['localhost in the allowed range (a bare range is any loopback host)', () => `http://localhost:${rangeLow}`],
    ['[::1] on its allowed port', () => `http://[::1]:${rangeLow + 10}`],
  ])('lets a services token register %s', async (_label, url) => {
    const name = `ok${Math.random().toString(36).slice(2, 10)}`;
    const res = await register(tokens['services']!, name, url());
    expect(res.status).toBe(201);
  });

  it.each([['read'], ['jobs'], ['svc:worker']])('refuses a %s token any registration with 403 scope_required', async (scope) => {
    const res = await register(tokens[scope]!, 'nope', `http://127.0.0.1:${allowedPort}`);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('scope_required');
  });

  it('refuses bad apiTargets entries at boot with config_invalid', async () => {
    for (const entry of ['10.0.0.5:8000', 'example.com:80', '0-10', '70000', '8000-7000', '127.0.0.1:x']) {
      await expect(startGateway({ supervisor: { apiTargets: [entry] } })).rejects.toMatchObject({
        code: 'config_invalid',
        detail: expect.stringContaining('supervisor.apiTargets'),
      });
    }
  });
});

describe('probe details and logs by token', () => {
  it('shows the last probe status and error to services and admin, and only ok/at to read', async () => {
    // A service whose probe answers 401: unhealthy, and the status says why.
    expect(
      (
        await register(tokens['admin']!, 'keyed', `http://127.0.0.1:${allowedPort}`, {
          autoStart: true,
          health: { path: '/health', intervalMs: 50, unhealthyThreshold: 1 },
        })
      ).status,
    ).toBe(201);
    await waitFor(async () => (await g.fetch('/api/v1/services/keyed')).json.lastHealth?.status === 401, 'probed');
    for (const [scope, detailed] of [
      ['services', true],
      ['admin', true],
      ['read', false],
    ] as const) {
      const one = (await g.fetch('/api/v1/services/keyed', { auth: tokens[scope]! })).json;
      const listed = ((await g.fetch('/api/v1/services', { auth: tokens[scope]! })).json.services as Array<{ name: string; lastHealth: unknown }>).find(
        (s) => s.name === 'keyed',
      );
      for (const view of [one, listed]) {
        expect(view.lastHealth).toMatchObject({ ok: false, at: expect.any(String) });
        if (detailed) expect(view.lastHealth).toMatchObject({ status: 401, error: 'status 401' });
        else expect(view.lastHealth).toMatchObject({ status: null, error: null });
      }
    }
  });

  it.each([
    ['services', 200],
    ['admin', 200],
    ['read', 403],
    ['jobs', 403],
    ['svc:worker', 403],
  ] as const)('answers GET logs to a %s token with %i', async (scope, status) => {
    const res = await g.fetch('/api/v1/services/worker/logs', { auth: tokens[scope]! });
    expect(res.status).toBe(status);
    if (status === 403) expect(res.json.code).toBe('scope_required');
    else expect(res.json.lines.some((l: { line: string }) => l.line.startsWith('gpu-worker listening'))).toBe(true);
  });

  it('lists the logs route as needing services, not read', () => {
    const route = g.gw.parts.routes.find((r) => r.url === '/api/v1/services/:name/logs' && r.method === 'GET');
    expect(route?.scope).toBe('services (not read)');
  });
});

describe('service events on the event stream', () => {
  it('go to services and admin tokens (they carry probe errors and log tails), never to read', async () => {
    const streams = await Promise.all((['services', 'admin', 'read'] as const).map((scope) => openSse(g.url, tokens[scope]!)));
    try {
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
      expect((await g.fetch('/api/v1/services/worker/restart', { method: 'POST' })).status).toBe(200);
      for (const s of streams.slice(0, 2))
        await s.until((e) => e.event === 'service.state' && e.data.service === 'worker' && e.data.to === 'healthy', 'worker healthy event');
      // The read stream had the same events offered: a job event after them is the clock.
      await g.fetch('/api/v1/jobs', { method: 'POST', auth: tokens['admin']!, body: { service: 'worker', payload: { steps: 0 } } });
      const reader = streams[2]!;
      await reader.until((e) => e.event === 'job.queued', 'a job event on the read stream');
      expect(reader.events.filter((e) => e.event.startsWith('service.'))).toEqual([]);
    } finally {
      for (const s of streams) s.close();
    }
  });
});
