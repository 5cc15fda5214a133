/**
 * /api/v1/schedules: add, list, read, pause, resume, run now, delete, and the refusals (bad cron,
 * bad time zone, a name taken, a service nobody registered).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';

let g: JobsGateway;
beforeAll(async () => {
  g = await startJobsGateway();
});
afterAll(async () => {
  await g?.stop();
});

const add = (body: Record<string, unknown>) => g.fetch('/api/v1/schedules', { method: 'POST', body });

describe('schedules API', () => {
  it('adds a schedule (201) with its next run, lists and reads it', async () => {
    const res = await add({ name: 'nightly', cron: '0 3 * * *', timezone: 'UTC', service: 'worker', payload: { steps: 0 } });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name: 'nightly', cron: '0 3 * * *', timezone: 'UTC', service: 'worker', paused: false, lastRunAt: null, missed: null });
    const next = new Date(res.json.nextRunAt);
    expect(next.getUTCHours()).toBe(3);
    expect(next.getUTCMinutes()).toBe(0);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    const list = await g.fetch('/api/v1/schedules');
    expect(list.json.schedules.map((s: { name: string }) => s.name)).toContain('nightly');
    expect((await g.fetch('/api/v1/schedules/nightly')).json.name).toBe('nightly');
    // The payload is not shown back (it is sealed at rest and only handed to the job).
    expect(list.json.schedules[0].payload).toBeUndefined();
  });

  it('pauses (no next run) and resumes a schedule', async () => {
    await add({ name: 'pausable', cron: '0 4 * * *', service: 'worker' });
    const paused = await g.fetch('/api/v1/schedules/pausable/pause', { method: 'POST' });
    expect(paused.json).toMatchObject({ paused: true, nextRunAt: null });
    const resumed = await g.fetch('/api/v1/schedules/pausable/resume', { method: 'POST' });
    expect(resumed.json.paused).toBe(false);
    expect(resumed.json.nextRunAt).not.toBeNull();
  });

  it('runs a schedule now: 202 with the job id, and the job runs with the schedule as its author', async () => {
    await add({ name: 'on-demand', cron: '0 5 1 1 *', service: 'worker', payload: { steps: 0, from: 'schedule' } });
    const res = await g.fetch('/api/v1/schedules/on-demand/run', { method: 'POST' });
    expect(res.status).toBe(202);
    const job = await g.until(res.json.job);
    expect(job).toMatchObject({ state: 'succeeded', service: 'worker', payload: { steps: 0, from: 'schedule' }, createdBy: { id: 'schedule:on-demand' } });
    expect((await g.fetch('/api/v1/schedules/on-demand')).json.lastRunAt).not.toBeNull();
  });

  it('deletes a schedule, after which it is 404', async () => {
    await add({ name: 'doomed', cron: '0 6 * * *', service: 'worker' });
    expect((await g.fetch('/api/v1/schedules/doomed', { method: 'DELETE' })).json).toEqual({ deleted: true });
    expect((await g.fetch('/api/v1/schedules/doomed')).status).toBe(404);
    expect((await g.fetch('/api/v1/schedules/doomed', { method: 'DELETE' })).status).toBe(404);
    expect((await g.fetch('/api/v1/schedules/doomed/run', { method: 'POST' })).status).toBe(404);
  });

  it.each([
    ['a cron that is not one', { name: 'bad-cron', cron: 'every day', service: 'worker' }, 400, 'validation_failed'],
    ['a time zone that is not one', { name: 'bad-tz', cron: '0 3 * * *', timezone: 'Mars/Olympus', service: 'worker' }, 400, 'validation_failed'],
    ['a name with upper case', { name: 'Nightly', cron: '0 3 * * *', service: 'worker' }, 400, 'validation_failed'],
    ['a service nobody registered', { name: 'ghostly', cron: '0 3 * * *', service: 'ghost' }, 404, 'service_not_found'],
    ['an unknown field', { name: 'extra', cron: '0 3 * * *', service: 'worker', every: 'day' }, 400, 'validation_failed'],
  ])('refuses %s', async (_what, body, status, code) => {
    const res = await add(body);
    expect(res.status).toBe(status);
    expect(res.json.code).toBe(code);
  });

  it('refuses a name that is taken with 409 conflict', async () => {
    await add({ name: 'taken', cron: '0 3 * * *', service: 'worker' });
    const res = await add({ name: 'taken', cron: '0 4 * * *', service: 'worker' });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe('conflict');
  });
});
