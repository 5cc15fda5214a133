/**
 * A job's life with the example worker as a real child process: submit (202, durable) -> dispatched
 * -> running with progress -> succeeded with the result; reads, filters, pagination, delete, and the
 * refusals on the way (unknown service, bad progress token, result over the cap).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJobsGateway, workerJob, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway;

beforeAll(async () => {
  // A cap of 2 KiB on results, so that the over-the-cap case needs no large payload.
  g = await startJobsGateway({ jobs: { maxResultBytes: 2048 } });
});

afterAll(async () => {
  await g?.stop();
});

describe('submit -> progress -> result', () => {
  it('answers 202 with a queued job, then runs it on the worker, with progress, to succeeded with its result', async () => {
    const payload = { steps: 10, stepMs: 100, note: 'hello' };
    const res = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload } });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({
      service: 'worker',
      state: 'queued',
      attempts: 0,
      priority: 0,
      progress: { value: null, message: null },
      error: null,
      finishedAt: null,
    });
    const id = res.json.id as string;
    expect(id).toMatch(/^job_/);

    const seen = new Set<number>();
    const running = await waitFor(async () => {
      const j = await g.job(id);
      if (typeof j.progress.value === 'number' && j.progress.value > 0 && j.progress.value < 1) seen.add(j.progress.value);
      return j.state === 'running' && j.progress.value > 0 ? j : null;
    }, 'progress while running');
    expect(running.progress.message).toMatch(/^step \d+\/10$/);
    expect(running.attempts).toBe(1);
    expect(running.startedAt).not.toBeNull();

    const done = await g.until(id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, result: { echo: payload }, error: null, payload, progress: { value: 1 } });
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    expect(seen.size).toBeGreaterThan(0);
  });

  it('keeps progress at 1 once a job has succeeded, even if a late progress report comes in', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 1, stepMs: 1 } });
    const done = await g.until(j.id);
    expect(done.state).toBe('succeeded');
    expect(done.progress.value).toBe(1);
    // The worker's own record agrees it is done.
    expect(await workerJob(g.workerPort, j.id)).toMatchObject({ state: 'done', progress: 1 });
  });

  it('refuses a job for a service nobody registered with 404 service_not_found', async () => {
    const res = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'ghost', payload: {} } });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ code: 'service_not_found' });
  });

  it('fails a job whose result is over jobs.maxResultBytes with result_too_large', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 0, big: 'x'.repeat(4096) } });
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'failed', error: { code: 'result_too_large' } });
    expect(done.result).toBeUndefined();
  });

  it('answers 404 not_found for a job id nobody gave out', async () => {
    expect((await g.fetch('/api/v1/jobs/job_nope')).status).toBe(404);
  });
});

describe('the per-job progress URL', () => {
  it('refuses a progress report with a wrong per-job token (401 token_invalid) and keeps the job unchanged', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 20, stepMs: 50 } });
    await g.until(j.id, ['running']);
    const wrong = await g.fetch(`/api/v1/jobs/${j.id}/progress`, {
      method: 'POST',
      auth: 'mjp_not-the-token-of-this-attempt',
      body: { progress: 0.99, message: 'forged' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: 'token_invalid' });
    // The admin token is no progress token either.
    const admin = await g.fetch(`/api/v1/jobs/${j.id}/progress`, { method: 'POST', body: { progress: 0.99, message: 'forged' } });
    expect(admin.status).toBe(401);
    const none = await g.fetch(`/api/v1/jobs/${j.id}/progress`, { method: 'POST', auth: false, body: { progress: 0.99 } });
    expect(none.status).toBe(401);
    const now = await g.job(j.id);
    expect(now.progress.message).not.toBe('forged');
    await g.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' });
    await g.until(j.id);
  });
});

describe('reads', () => {
  it('lists jobs newest first, filters by state= and service=, and pages with cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await g.submit({ service: 'worker', payload: { steps: 0, i } })).id);
    for (const id of ids) await g.until(id);
    const seenIds: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/api/v1/jobs?service=worker&state=succeeded&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await g.fetch(q);
      expect(res.status).toBe(200);
      expect(res.json.jobs.length).toBeLessThanOrEqual(2);
      for (const j of res.json.jobs) {
        expect(j).toMatchObject({ service: 'worker', state: 'succeeded' });
        expect(j.payload).toBeUndefined(); // lists never carry payloads
        seenIds.push(j.id);
      }
      cursor = res.json.next;
      pages++;
    } while (cursor !== null && pages < 50);
    // Newest first, no duplicates, and all five of ours are there in reverse order of submission.
    expect(new Set(seenIds).size).toBe(seenIds.length);
    const ours = seenIds.filter((id) => ids.includes(id));
    expect(ours).toEqual([...ids].reverse());
    const failed = await g.fetch('/api/v1/jobs?state=failed');
    expect(failed.json.jobs.every((j: { state: string }) => j.state === 'failed')).toBe(true);
    const other = await g.fetch('/api/v1/jobs?service=other');
    expect(other.json).toEqual({ jobs: [], next: null });
  });

  it('refuses a state that is not one and a cursor it did not give out', async () => {
    expect((await g.fetch('/api/v1/jobs?state=bogus')).status).toBe(400);
    expect((await g.fetch('/api/v1/jobs?cursor=..')).status).toBe(400);
  });
});

describe('delete', () => {
  it('deletes a finished job and refuses (409) to delete one that is queued or running', async () => {
    const long = await g.submit({ service: 'worker', payload: { steps: 50, stepMs: 50 } });
    const queued = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await g.until(long.id, ['running']);
    const r1 = await g.fetch(`/api/v1/jobs/${long.id}`, { method: 'DELETE' });
    expect(r1.status).toBe(409);
    expect(r1.json).toMatchObject({ code: 'conflict' });
    const r2 = await g.fetch(`/api/v1/jobs/${queued.id}`, { method: 'DELETE' });
    expect(r2.status).toBe(409);
    await g.fetch(`/api/v1/jobs/${long.id}/cancel`, { method: 'POST' });
    await g.until(long.id);
    await g.until(queued.id);
    const r3 = await g.fetch(`/api/v1/jobs/${queued.id}`, { method: 'DELETE' });
    expect(r3).toMatchObject({ status: 200, json: { deleted: true } });
    expect((await g.fetch(`/api/v1/jobs/${queued.id}`)).status).toBe(404);
    expect((await g.fetch(`/api/v1/jobs/${queued.id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('the worker is reached only through moat', () => {
  it('hands the job headers to the worker (job id, attempt, progress URL and token)', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 2, stepMs: 20 } });
    await g.until(j.id);
    // The worker saw the job under moat's id and reported progress to moat with the token: the
    // gateway recorded progress from posts (the poll interval is 100 ms; this only checks it arrived).
    const res = await request(`http://127.0.0.1:${g.workerPort}/jobs/${j.id}/progress`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ state: 'done' });
  });
});
