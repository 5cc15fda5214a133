/**
 * Jobs and the services that run them: a stopped `command` service is started on demand, and the
 * jobs of a service that is deleted fail with service_not_found instead of waiting forever.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { json, startJobsGateway, startStub, type JobsGateway, type StubService } from '../helpers/jobs.js';
import { fakeService, spec, waitFor } from '../helpers/services.js';

let g: JobsGateway | null = null;
let stub: StubService | null = null;
afterEach(async () => {
  await g?.stop();
  await stub?.close();
  g = null;
  stub = null;
});

describe('on demand', () => {
  it('starts a stopped command service for a job and runs it', async () => {
    g = await startJobsGateway({}, { autoStart: false });
    expect((await g.fetch('/api/v1/services/worker')).json.state).toBe('stopped');
    const j = await g.submit({ service: 'worker', payload: { steps: 1, stepMs: 1 } });
    // Claimed while its service starts: dispatched (running once it is handed over).
    expect((await g.until(j.id, ['dispatched', 'running', 'succeeded'])).state).toBe('dispatched');
    expect(await g.until(j.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect((await g.fetch('/api/v1/services/worker')).json.state).toBe('healthy');
  });
});

describe('waiting for a service that is starting', () => {
  /** A stopped command service that never turns healthy, and starts only on demand: a job waits on it. */
  async function neverReady(): Promise<JobsGateway> {
    const slow = spec(await fakeService('slow', ['--no-listen'], { autoStart: false, concurrency: 1, startTimeoutMs: 120_000 }));
    // The start is given two minutes (the service's and the queue's): only the job's own signal can end the wait sooner.
    return startJobsGateway({ services: [slow], jobs: { startTimeoutSeconds: 120 } });
  }

  it('cancels a job at once while its service starts on demand', async () => {
    g = await neverReady();
    const j = await g.submit({ service: 'slow', payload: {} });
    await g.until(j.id, ['dispatched']);
    await waitFor(async () => (await g!.fetch('/api/v1/services/slow')).json.state === 'starting', 'the start on demand');
    const t0 = Date.now();
    expect((await g.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await g.until(j.id, ['succeeded', 'failed', 'canceled'], 3_000)).toMatchObject({ state: 'canceled', attempts: 1 });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('times a job out at its timeoutSeconds while its service starts on demand', async () => {
    g = await neverReady();
    const j = await g.submit({ service: 'slow', payload: {}, timeoutSeconds: 1 });
    const done = await g.until(j.id, ['succeeded', 'failed', 'canceled'], 5_000);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'timeout' } });
    expect(Date.parse(done.finishedAt) - Date.parse(done.startedAt)).toBeLessThan(3_000);
  });
});

describe('a deleted service', () => {
  it('fails the queued jobs of a service deleted through the API with service_not_found', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    stub = await startStub('unused', async (req, res) => {
      if (req.url === '/jobs') await gate;
      json(res, 200, { ok: true });
    });
    g = await startJobsGateway();
    const reg = await g.fetch('/api/v1/services', {
      method: 'POST',
      body: { name: 'gone', kind: 'url', baseUrl: `http://127.0.0.1:${stub.port}`, health: { path: '/health', intervalMs: 100 }, concurrency: 1 },
    });
    expect(reg.status).toBe(201);
    await waitFor(async () => (await g!.fetch('/api/v1/services/gone')).json.state === 'healthy', 'healthy');
    const first = await g.submit({ service: 'gone', payload: {} });
    await g.until(first.id, ['running']);
    const queued = [await g.submit({ service: 'gone', payload: {} }), await g.submit({ service: 'gone', payload: {} })];
    expect((await g.fetch('/api/v1/services/gone', { method: 'DELETE' })).status).toBe(200);
    for (const q of queued) expect(await g.until(q.id)).toMatchObject({ state: 'failed', attempts: 0, error: { code: 'service_not_found' } });
    // New jobs for it are refused at the door.
    expect((await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'gone' } })).json.code).toBe('service_not_found');
    release();
    // The attempt in flight ends as the service answers (the URL service itself still runs).
    expect((await g.until(first.id)).state).toBe('succeeded');
  });
});
