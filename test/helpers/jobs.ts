/** Helpers for job tests: a gateway with the example worker as a real `command` service, and polling on job states. */
import { request } from 'undici';
import { startGateway, type FetchInit, type TestGateway } from './gateway.js';
import { waitFor, workerService } from './services.js';

export const FINISHED = ['succeeded', 'failed', 'canceled'];

export interface JobsGateway extends TestGateway {
  /** Port of the worker service (its own /stats, /jobs/<id>/progress). */
  workerPort: number;
  submit(body: Record<string, unknown>, init?: FetchInit): Promise<any>;
  job(id: string): Promise<any>;
  /** Polls until the job is in one of `states` (default: any final state). */
  until(id: string, states?: string[], timeoutMs?: number): Promise<any>;
  /** The worker's own counters: {active, maxActive, total}. */
  workerStats(): Promise<{ active: number; maxActive: number; total: number }>;
}

/** Fast test timings for the job queue: quick retries, quick progress polls, quick health probes. */
export const FAST_JOBS = { retryBaseMs: 50, retryMaxMs: 200, progressPollMs: 100, startTimeoutSeconds: 20 };

/**
 * A gateway with the example worker registered as service `worker` (a real child process).
 * `values` is merged over the defaults (its `jobs` over FAST_JOBS); `worker` over the service spec.
 */
export async function startJobsGateway(
  values: Record<string, unknown> = {},
  worker: Record<string, unknown> = {},
  extra: Parameters<typeof startGateway>[1] = {},
): Promise<JobsGateway> {
  const svc = await workerService('worker', { concurrency: 1, health: { intervalMs: 100 }, ...worker });
  const { port, ...spec } = svc;
  const { jobs, services, ...rest } = values as { jobs?: Record<string, unknown>; services?: unknown[] };
  const g = await startGateway({ jobs: { ...FAST_JOBS, ...jobs }, services: [spec, ...(services ?? [])], ...rest }, extra);
  return withJobs(g, port);
}

export function withJobs(g: TestGateway, workerPort: number): JobsGateway {
  const jg = g as JobsGateway;
  jg.workerPort = workerPort;
  jg.submit = async (body, init = {}) => {
    const res = await g.fetch('/api/v1/jobs', { method: 'POST', body, ...init });
    if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${res.text}`);
    return res.json;
  };
  jg.job = async (id) => (await g.fetch(`/api/v1/jobs/${id}`)).json;
  jg.until = (id, states = FINISHED, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const j = await jg.job(id);
        return states.includes(j?.state) ? j : null;
      },
      `job ${id} to be ${states.join('|')}`,
      timeoutMs,
      50,
    );
  jg.workerStats = () => workerStats(workerPort);
  return jg;
}

export async function workerStats(port: number): Promise<{ active: number; maxActive: number; total: number }> {
  const res = await request(`http://127.0.0.1:${port}/stats`);
  return (await res.body.json()) as { active: number; maxActive: number; total: number };
}

/** The worker's own record of a job ({progress, message, state}), or null. */
export async function workerJob(port: number, id: string): Promise<{ progress: number; message: string; state: string } | null> {
  const res = await request(`http://127.0.0.1:${port}/jobs/${id}/progress`);
  if (res.statusCode !== 200) {
    await res.body.dump();
    return null;
  }
  return (await res.body.json()) as { progress: number; message: string; state: string };
}

/** A token with the given scopes, made by the admin. */
export async function tokenWith(g: TestGateway, scopes: string[], name = `t-${scopes.join('-')}-${Math.random().toString(36).slice(2, 8)}`): Promise<string> {
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes } });
  if (res.status !== 201) throw new Error(`token create answered ${res.status}: ${res.text}`);
  return res.json.token as string;
}

/** One request a stub service received. */
export interface StubRequest {
  method: string;
  url: string;
  headers: import('node:http').IncomingHttpHeaders;
  body: string;
}

export interface StubService {
  port: number;
  /** Config of a `url` service pointing at the stub. */
  spec: Record<string, unknown>;
  requests: StubRequest[];
  close(): Promise<void>;
}

/**
 * A test-owned HTTP server registered as a `url` service, for what the example worker cannot be
 * made to do on cue. `handler` answers each request after its body was read.
 */
export async function startStub(
  name: string,
  handler: (req: StubRequest, res: import('node:http').ServerResponse) => void | Promise<void>,
  extra: Record<string, unknown> = {},
): Promise<StubService> {
  const http = await import('node:http');
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
      if (r.url !== '/health') requests.push(r);
      if (r.url === '/health') return void res.end('{"ok":true}');
      void Promise.resolve(handler(r, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    port,
    spec: { name, kind: 'url', baseUrl: `http://127.0.0.1:${port}`, health: { path: '/health', intervalMs: 100 }, concurrency: 1, ...extra },
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
