/**
 * Cancel: a queued job is canceled at once; a running one is stopped at the worker (moat tells the
 * service to cancel) and ends canceled; a finished job cannot be canceled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsGateway, workerJob, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway;
beforeAll(async () => {
  g = await startJobsGateway();
});
afterAll(async () => {
  await g?.stop();
});

const cancel = (id: string) => g.fetch(`/api/v1/jobs/${id}/cancel`, { method: 'POST' });

describe('cancel', () => {
  it('cancels a running job: the worker stops it and the job ends canceled, with no result', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 100, stepMs: 50 } });
    await waitFor(async () => (await g.job(j.id)).progress.value > 0, 'running with progress');
    const res = await cancel(j.id);
    expect(res.status).toBe(200);
    expect(['running', 'dispatched', 'canceled']).toContain(res.json.state);
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'canceled', attempts: 1, error: null });
    expect(done.result).toBeUndefined();
    // The worker's own view: it stopped before the last step.
    const w = await workerJob(g.workerPort, j.id);
    expect(w?.state).toBe('canceled');
    expect(w!.progress).toBeLessThan(1);
  });

  it('cancels a queued job at once, and it never reaches the worker', async () => {
    const blocker = await g.submit({ service: 'worker', payload: { steps: 20, stepMs: 50 } });
    const queued = await g.submit({ service: 'worker', payload: { steps: 0 } });
    const res = await cancel(queued.id);
    expect(res.json.state).toBe('canceled');
    await cancel(blocker.id);
    await g.until(blocker.id);
    expect(await g.job(queued.id)).toMatchObject({ state: 'canceled', attempts: 0, startedAt: null });
    expect(await workerJob(g.workerPort, queued.id)).toBeNull();
  });

  it('cancels a job waiting for its retry', async () => {
    // Twenty attempts 50-200 ms apart: seconds of waiting for a retry to cancel in.
    const j = await g.submit({ service: 'worker', maxAttempts: 20, payload: { steps: 0, failAttempts: 20 } });
    const waiting = await waitFor(
      async () => {
        const v = await g.job(j.id);
        return v.state === 'queued' && v.attempts >= 1 ? v : null;
      },
      'waiting for a retry',
      10_000,
      5,
    );
    // Queued again, with the attempt that failed as its error.
    expect(waiting.error).toMatchObject({ code: 'service_503' });
    expect((await cancel(j.id)).json.state).toBe('canceled');
    expect((await g.until(j.id)).state).toBe('canceled');
  });

  it('answers 409 conflict for a job that already finished, and 404 for an unknown one', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await g.until(j.id);
    const res = await cancel(j.id);
    expect(res.status).toBe(409);
    expect(res.json.code).toBe('conflict');
    expect((await cancel('job_nope')).status).toBe(404);
  });
});
