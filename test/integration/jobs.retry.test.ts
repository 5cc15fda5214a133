/**
 * Failures: transient ones (the service unreachable, 429, 502-504) are retried with exponential
 * backoff up to maxAttempts; permanent ones fail at once; an attempt over its timeout fails the job
 * and the service is told to cancel, before the next job is handed to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startJobsGateway, startStub, workerJob, type JobsGateway, type StubRequest, type StubService } from '../helpers/jobs.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway;
let stub: StubService;
/** Status codes the stub answers, in turn, per job id; 200 once they run out. */
const script = new Map<string, number[]>();
const arrivals: Array<{ id: string; at: number }> = [];
/** Answers of attempts the stub holds back until a test releases them. */
const held: Array<() => void> = [];

beforeAll(async () => {
  stub = await startStub('stub', (req: StubRequest, res) => {
    if (req.method === 'POST' && req.url === '/jobs') {
      const id = req.headers['x-moat-job-id'] as string;
      arrivals.push({ id, at: Date.now() });
      const payload = JSON.parse(req.body) as { statuses?: number[]; hang?: boolean; holdRetry?: boolean };
      if (payload.hang) return; // never answers: moat's timeout has to end it
      if (payload.holdRetry && req.headers['x-moat-attempt'] !== '1') return void held.push(() => json(res, 200, { attempt: 2 }));
      if (!script.has(id)) script.set(id, [...(payload.statuses ?? [])]);
      const next = script.get(id)!.shift();
      return next === undefined ? json(res, 200, { attempt: Number(req.headers['x-moat-attempt']) }) : json(res, next, { error: `scripted ${next}` });
    }
    return json(res, 200, {});
  });
  const ghostPort = await freePort();
  g = await startJobsGateway({
    jobs: { retryBaseMs: 150, retryMaxMs: 10_000 },
    services: [stub.spec, { name: 'ghost', kind: 'url', baseUrl: `http://127.0.0.1:${ghostPort}`, health: { intervalMs: 100 } }],
  });
});

afterAll(async () => {
  await g?.stop();
  await stub?.close();
});

describe('transient failures', () => {
  it('retries 503s from the worker and succeeds on the third attempt', async () => {
    const j = await g.submit({ service: 'worker', maxAttempts: 3, payload: { steps: 0, failAttempts: 2 } });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 3, error: null, result: { echo: { failAttempts: 2 } } });
  });

  it('retries 429, 502, 503 and 504 with exponential backoff (each wait at least twice the one before)', async () => {
    const j = await g.submit({ service: 'stub', maxAttempts: 5, payload: { statuses: [429, 502, 503, 504] } });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 5, result: { attempt: 5 } });
    const times = arrivals.filter((a) => a.id === j.id).map((a) => a.at);
    expect(times).toHaveLength(5);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Lower bounds only (timers never fire early); 150, 300, 600, 1200 ms.
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(150 * 2 ** i - 5);
  });

  it('shows the failed attempt as the error of a job being retried, and clears it on success', async () => {
    const j = await g.submit({ service: 'stub', maxAttempts: 2, payload: { statuses: [503], holdRetry: true } });
    // The second attempt is held by the stub: the job is running it, and says why it is a retry.
    const retrying = await waitFor(async () => {
      const v = await g.job(j.id);
      return v.state === 'running' && v.attempts === 2 ? v : null;
    }, 'running its second attempt');
    expect(retrying.error).toMatchObject({ code: 'service_503' });
    expect(retrying.error.message).toMatch(/^attempt 1 of 2 failed \(the service answered 503: scripted 503\); retrying in \d+ ms$/);
    await waitFor(() => held.length === 1, 'the held attempt');
    held.shift()!();
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, error: null });
  });

  it('fails with the last transient error once maxAttempts is used up', async () => {
    const j = await g.submit({ service: 'stub', maxAttempts: 2, payload: { statuses: [503, 503, 503] } });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 2, error: { code: 'service_503' } });
    expect(done.error.message).toMatch(/503/);
  });

  it('retries a service that cannot be reached, then fails with service_unreachable', async () => {
    const j = await g.submit({ service: 'ghost', maxAttempts: 2, payload: {} });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 2, error: { code: 'service_unreachable' } });
  });
});

describe('permanent failures', () => {
  it('fails at once, without a retry, when the service answers 500', async () => {
    const j = await g.submit({ service: 'worker', maxAttempts: 3, payload: { steps: 0, fail: true } });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'service_error' } });
    expect(done.error.message).toMatch(/500/);
  });

  it('fails at once on a 400 from the service', async () => {
    const j = await g.submit({ service: 'stub', maxAttempts: 3, payload: { statuses: [400] } });
    expect(await g.until(j.id)).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'service_error' } });
  });
});

describe('timeouts', () => {
  it('fails an attempt over its timeout with timeout, tells the worker to cancel, and only then hands it the next job', async () => {
    const before = await g.workerStats();
    const slow = await g.submit({ service: 'worker', timeoutSeconds: 1, maxAttempts: 3, payload: { steps: 100, stepMs: 100 } });
    const next = await g.submit({ service: 'worker', payload: { steps: 1, stepMs: 1 } });
    const done = await g.until(slow.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'timeout' } });
    // The worker stopped the job (it was told to cancel), and never ran the next one beside it.
    await waitFor(async () => (await workerJob(g.workerPort, slow.id))?.state === 'canceled', 'the worker canceled the job');
    expect((await g.until(next.id)).state).toBe('succeeded');
    const after = await g.workerStats();
    expect(after.total - before.total).toBe(2);
    expect(after.maxActive).toBe(1);
  });

  it('POSTs the cancel path of the service when an attempt times out', async () => {
    const j = await g.submit({ service: 'stub', timeoutSeconds: 1, payload: { hang: true } });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'timeout' } });
    const cancel = await waitFor(() => stub.requests.find((r) => r.method === 'POST' && r.url === `/jobs/${j.id}/cancel`), 'the cancel POST');
    expect(cancel.headers['x-moat-job-id']).toBe(j.id);
  });
});
