/**
 * Health without a health path: `GET /` answering below 500 is healthy (Ollama, vLLM, llama.cpp and
 * ComfyUI have no /health in common); an explicit path still needs 2xx. A 503 service_unavailable
 * says why (the last probe's status or error and when it ran), and a stopped service shows no health.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/services.js';

/** A server that answers every path with `status` (changeable), recording the paths it saw. */
interface Stub {
  url: string;
  status: number;
  paths: string[];
  close(): void;
}
async function stub(status: number): Promise<Stub> {
  const s: Stub = { url: '', status, paths: [], close: () => server.close() };
  const server = http.createServer((req, res) => {
    s.paths.push(req.url ?? '');
    res.statusCode = s.status;
    res.end(`answer ${s.status}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return s;
}

let g: TestGateway;
const stubs: Stub[] = [];
beforeAll(async () => {
  g = await startGateway();
});
afterAll(async () => {
  await g?.stop();
});
afterEach(() => {
  for (const s of stubs.splice(0)) s.close();
});

let n = 0;
async function add(baseUrl: string, health: Record<string, unknown> = {}): Promise<string> {
  const name = `s${++n}`;
  const res = await g.fetch('/api/v1/services', {
    method: 'POST',
    body: { name, kind: 'url', baseUrl, health: { intervalMs: 50, unhealthyThreshold: 1, ...health } },
  });
  expect(res.status).toBe(201);
  return name;
}
const state = async (name: string) => (await g.fetch(`/api/v1/services/${name}`)).json;

describe('the default probe', () => {
  it.each([200, 204, 301, 401, 404, 418, 499])('is healthy when GET / answers %i (a server without a /health)', async (status) => {
    const s = await stub(status);
    stubs.push(s);
    const name = await add(s.url);
    const view = await waitFor(async () => ((await state(name)).state === 'healthy' ? state(name) : null), 'healthy');
    expect(view.health.path).toBeNull();
    expect(s.paths.every((p) => p === '/')).toBe(true);
    expect(s.paths).not.toContain('/health');
  });

  it.each([500, 502, 503])('is unhealthy when GET / answers %i, and a request gets 503 saying so', async (status) => {
    const s = await stub(status);
    stubs.push(s);
    const name = await add(s.url);
    await waitFor(async () => (await state(name)).state === 'unhealthy', 'unhealthy');
    const res = await g.fetch(`/svc/${name}/v1/models`);
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('service_unavailable');
    expect(res.json.detail).toMatch(new RegExp(`^service ${name} is unhealthy; last probe at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: status ${status}$`));
    expect(res.json.lastProbe).toMatchObject({ ok: false, status, error: `status ${status}`, at: expect.any(String) });
    expect(Date.parse(res.json.lastProbe.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('says the connection was refused when nothing listens', async () => {
    const name = await add(`http://127.0.0.1:${await freePort()}`);
    await waitFor(async () => (await state(name)).state === 'unhealthy', 'unhealthy');
    const res = await g.fetch(`/svc/${name}/`);
    expect(res.status).toBe(503);
    expect(res.json.detail).toMatch(/last probe at \S+: refused$/);
    expect(res.json.lastProbe).toMatchObject({ status: null, error: 'refused' });
  });

  it('probes below the baseUrl path (http://host:port/v1 -> GET /v1/)', async () => {
    const s = await stub(404);
    stubs.push(s);
    const name = await add(`${s.url}/v1`);
    await waitFor(async () => (await state(name)).state === 'healthy', 'healthy');
    expect(new Set(s.paths)).toEqual(new Set(['/v1/']));
  });

  it('keeps 2xx for an explicit health path: a 404 there is unhealthy', async () => {
    const s = await stub(404);
    stubs.push(s);
    const name = await add(s.url, { path: '/health' });
    await waitFor(async () => (await state(name)).state === 'unhealthy', 'unhealthy');
    expect((await state(name)).lastHealth).toMatchObject({ ok: false, status: 404 });
    expect(s.paths).toContain('/health');
  });
});

describe('what a stopped service shows', () => {
  it('shows no last health once stopped (none of its old probes), and a request gets 503 saying how to start it', async () => {
    const s = await stub(200);
    stubs.push(s);
    const name = await add(s.url);
    await waitFor(async () => (await state(name)).lastHealth?.ok === true, 'probed healthy');
    const stopped = (await g.fetch(`/api/v1/services/${name}/stop`, { method: 'POST' })).json;
    expect(stopped).toMatchObject({ state: 'stopped', lastHealth: null });
    expect((await state(name)).lastHealth).toBeNull();
    const res = await g.fetch(`/svc/${name}/`);
    expect(res.status).toBe(503);
    expect(res.json.detail).toBe(`service ${name} is stopped; start it with moat service start ${name}`);
    // Started again: a fresh probe, not the old one.
    const started = (await g.fetch(`/api/v1/services/${name}/start`, { method: 'POST' })).json;
    expect(started.lastHealth).toBeNull();
    await waitFor(async () => (await state(name)).state === 'healthy', 'healthy again');
  });
});
