/**
 * POST /api/v1/jobs is rate class `jobs` (120 per minute per client by default): the 120th
 * submission is accepted, the 121st refused with 429 rate_limited and Retry-After, and nothing is
 * written for it; other routes keep their own budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway;
beforeAll(async () => {
  g = await startJobsGateway();
});
afterAll(async () => {
  await g?.stop();
});

describe('the progress rate class', () => {
  it("keeps a chatty worker's progress reports from using up the budget of the operator's other requests", async () => {
    // Worker and operator share 127.0.0.1; the general budget here is smaller than the reports.
    const small = await startJobsGateway({ rateLimit: { general: { perMinute: 20 } } });
    try {
      const j = await small.submit({ service: 'worker', payload: { steps: 60, stepMs: 2 } });
      const done = await waitFor(
        async () => {
          const r = await small.fetch(`/api/v1/jobs/${j.id}`);
          return r.status === 200 && r.json.state === 'succeeded' ? r.json : null;
        },
        'the job done',
        20_000,
        500,
      );
      expect(done.progress.value).toBe(1);
      expect(small.logs.lines.filter((l) => l.includes('rate_limited'))).toEqual([]);
      expect((await small.fetch('/api/v1/jobs?limit=1')).status).toBe(200);
    } finally {
      await small.stop();
    }
  });
});

describe('the jobs rate class', () => {
  it('accepts 120 submissions a minute from one client and refuses the 121st with 429 rate_limited', async () => {
    expect(g.gw.config.rateLimit.jobs.perMinute).toBe(120);
    const statuses: number[] = [];
    for (let i = 0; i < 120; i++) {
      statuses.push((await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 0, i } } })).status);
    }
    expect(statuses.filter((s) => s === 202)).toHaveLength(120);
    const over = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 0, i: 120 } } });
    expect(over.status).toBe(429);
    expect(over.json.code).toBe('rate_limited');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers['ratelimit-limit']).toBe('120');
    // Nothing was written for the refused one; reads are another class and still answered.
    const list = await g.fetch('/api/v1/jobs?limit=500');
    expect(list.status).toBe(200);
    expect(list.json.jobs).toHaveLength(120);
    // Running a schedule now is a submission too.
    await g.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'nightly', cron: '0 3 * * *', service: 'worker', payload: {} } });
    expect((await g.fetch('/api/v1/schedules/nightly/run', { method: 'POST' })).status).toBe(429);
  });
});
