/**
 * Drain under SIGTERM, of a real `moat serve` process: for --drain-timeout the listener stays open,
 * so a new client hears 503 draining (health {"status":"draining"}) instead of a refused
 * connection, over HTTP/1.1 and HTTP/2; a running job gets the window to finish and is not run a
 * second time; one that outlasts the window is cut and re-run after the restart; the shutdown log
 * says how many finished and how many will re-run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import http2 from 'node:http2';
import { spawnServe, type ServeProcess } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { FAST_JOBS } from '../helpers/jobs.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

const children: ServeProcess[] = [];
afterEach(() => {
  for (const p of children.splice(0)) p.child.kill('SIGKILL');
});

interface Served {
  p: ServeProcess;
  token: string;
  dataDir: string;
  call(path: string, init?: { method?: string; body?: unknown; auth?: boolean }): Promise<{ status: number; json: any }>;
}

/** `moat serve` on a data dir with the example worker as service `worker`. */
async function serve(dataDir: string, drainSeconds: number, tls = false): Promise<Served> {
  const config = join(dataDir, 'drain-test.json');
  try {
    readFileSync(config);
  } catch {
    writeFileSync(config, JSON.stringify({ services: [spec(await workerService('worker', { concurrency: 2 }))], jobs: FAST_JOBS }));
  }
  const p = await spawnServe(['--data-dir', dataDir, '--port', '0', '--config', config, '--drain-timeout', String(drainSeconds), ...(tls ? ['--tls'] : [])]);
  children.push(p);
  const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
  const dispatcher = tls ? new Agent({ connect: { ca: readFileSync(join(dataDir, 'tls', 'cert.pem')), servername: 'localhost' } }) : new Agent();
  return {
    p,
    token,
    dataDir,
    async call(path, init = {}) {
      // A new connection each time: a client arriving during the drain, not one already connected.
      const res = await request(`${p.url}${path}`, {
        method: (init.method ?? 'GET') as 'GET',
        headers: {
          ...(init.auth === false ? {} : { authorization: `Bearer ${token}` }),
          ...(init.body ? { 'content-type': 'application/json' } : {}),
          connection: 'close',
        },
        body: init.body ? JSON.stringify(init.body) : undefined,
        dispatcher,
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
    },
  };
}

/** Submits a job of `steps` x `stepMs` (long enough that the drain's checks happen while it runs) and waits until it runs. */
async function submit(s: Served, steps: number, stepMs: number): Promise<string> {
  const res = await s.call('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps, stepMs } } });
  expect(res.status).toBe(202);
  const id = res.json.id as string;
  await waitFor(async () => (await s.call(`/api/v1/jobs/${id}`)).json.state === 'running', `job ${id} running`, 20_000, 50);
  return id;
}

describe('drain on SIGTERM', () => {
  it('keeps the listener open: new clients hear 503 draining, the running job finishes once, the log counts it', { timeout: 90_000 }, async () => {
    const dataDir = tmpDir();
    const s = await serve(dataDir, 20);
    const job = await submit(s, 40, 150);
    s.p.child.kill('SIGTERM');
    await waitFor(() => /"msg":"draining"/.test(s.p.stderr()), 'the drain to start', 10_000, 20);

    const health = await s.call('/api/v1/health', { auth: false });
    expect(health).toEqual({ status: 503, json: { status: 'draining' } });
    const status = await s.call('/api/v1/status');
    expect(status.status).toBe(503);
    expect(status.json.code).toBe('draining');
    const refused = await s.call('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: {} } });
    expect(refused.json.code).toBe('draining');

    expect(await s.p.exited).toBe(0);
    expect(s.p.stderr()).toMatch(/drain done: \d+ requests and 1 jobs finished; 0 requests cut, 0 jobs will re-run/);

    const again = await serve(dataDir, 5);
    const view = (await again.call(`/api/v1/jobs/${job}`)).json;
    expect(view).toMatchObject({ state: 'succeeded', attempts: 1 });
    again.p.child.kill('SIGTERM');
    expect(await again.p.exited).toBe(0);
  });

  it('cuts a job that outlasts the window and says it will re-run; after the restart it runs again', { timeout: 90_000 }, async () => {
    const dataDir = tmpDir();
    const s = await serve(dataDir, 1);
    const job = await submit(s, 100, 100);
    s.p.child.kill('SIGTERM');
    expect(await s.p.exited).toBe(0);
    // (A progress post of the cut job may be cut with it.)
    expect(s.p.stderr()).toMatch(/0 jobs finished; \d+ requests cut, 1 jobs will re-run/);

    const again = await serve(dataDir, 1);
    const view = await waitFor(
      async () => {
        const j = (await again.call(`/api/v1/jobs/${job}`)).json;
        return j.attempts === 2 ? j : null;
      },
      'the cut job to run again',
      20_000,
      50,
    );
    expect(view.state === 'running' || view.state === 'dispatched' || view.state === 'queued').toBe(true);
  });

  it('over HTTP/2 too: a new session during the drain hears 503 draining', { timeout: 90_000 }, async () => {
    const dataDir = tmpDir();
    const s = await serve(dataDir, 20, true);
    await submit(s, 40, 150);
    s.p.child.kill('SIGTERM');
    await waitFor(() => /"msg":"draining"/.test(s.p.stderr()), 'the drain to start', 10_000, 20);
    const session = http2.connect(s.p.url.replace('127.0.0.1', 'localhost'), { ca: readFileSync(join(dataDir, 'tls', 'cert.pem')) });
    try {
      const answer = (path: string, auth: boolean) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const stream = session.request({ ':path': path, ...(auth ? { authorization: `Bearer ${s.token}` } : {}) });
          let body = '';
          let status = 0;
          stream.setEncoding('utf8');
          stream.on('response', (h) => (status = Number(h[':status'])));
          stream.on('data', (d: string) => (body += d));
          stream.on('end', () => resolve({ status, body }));
          stream.on('error', reject);
        });
      const health = await answer('/api/v1/health', false);
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body)).toEqual({ status: 'draining' });
      const status = await answer('/api/v1/status', true);
      expect(status.status).toBe(503);
      expect(JSON.parse(status.body).code).toBe('draining');
    } finally {
      session.close();
    }
    expect(await s.p.exited).toBe(0);
    expect(s.p.stderr()).toMatch(/1 jobs finished; 0 requests cut, 0 jobs will re-run/);
  });
});
