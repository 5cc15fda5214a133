/**
 * Schedules firing in real time (croner's 6-field cron with seconds): each tick submits one job,
 * a paused schedule submits none, and a tick that cannot submit (its service was deleted) is
 * logged and audited without stopping the gateway or the schedule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { json, startJobsGateway, startStub, type JobsGateway, type StubService } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway | null = null;
let stub: StubService | null = null;
afterEach(async () => {
  await g?.stop();
  await stub?.close();
  g = null;
  stub = null;
});

async function jobsBy(jg: JobsGateway, schedule: string): Promise<Array<{ id: string; createdAt: string; state: string }>> {
  const res = await jg.fetch('/api/v1/jobs?limit=500');
  return res.json.jobs.filter((j: { createdBy: { id: string } }) => j.createdBy.id === `schedule:${schedule}`);
}

describe('a schedule firing', () => {
  it('submits one job per tick of a every-second cron, and the jobs run', async () => {
    g = await startJobsGateway();
    const jg = g;
    const added = Date.now();
    expect(
      (await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'tick', cron: '*/1 * * * * *', service: 'worker', payload: { steps: 0 } } })).status,
    ).toBe(201);
    const jobs = await waitFor(async () => {
      const list = await jobsBy(jg, 'tick');
      return list.length >= 3 ? list : null;
    }, 'three ticks');
    // Never more jobs than ticks (seconds begun) since the schedule was added: no tick fired twice.
    const ticks = Math.floor(Date.now() / 1000) - Math.floor(added / 1000);
    expect(jobs.length).toBeLessThanOrEqual(ticks);
    for (const j of jobs) expect((await jg.until(j.id)).state).toBe('succeeded');
    const events = (await jg.fetch('/api/v1/schedules/tick')).json;
    expect(events.lastRunAt).not.toBeNull();
  });

  it('submits nothing while paused, and fires again once resumed', async () => {
    g = await startJobsGateway();
    const jg = g;
    await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'paused', cron: '*/1 * * * * *', service: 'worker', payload: { steps: 0 } } });
    await jg.fetch('/api/v1/schedules/paused/pause', { method: 'POST' });
    const before = (await jobsBy(jg, 'paused')).length;
    // A second schedule is the clock: once it fired twice, the paused one had two chances.
    await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'clock', cron: '*/1 * * * * *', service: 'worker', payload: { steps: 0 } } });
    await waitFor(async () => (await jobsBy(jg, 'clock')).length >= 2, 'the clock ticked twice');
    expect((await jobsBy(jg, 'paused')).length).toBe(before);
    await jg.fetch('/api/v1/schedules/paused/resume', { method: 'POST' });
    await waitFor(async () => (await jobsBy(jg, 'paused')).length > before, 'a tick after resume');
  });

  it('keeps running (gateway and schedule) when a tick cannot submit its job', async () => {
    stub = await startStub('x', (_req, res) => json(res, 200, {}));
    g = await startJobsGateway();
    const jg = g;
    expect(
      (
        await jg.fetch('/api/v1/services', {
          method: 'POST',
          body: { name: 'brief', kind: 'url', baseUrl: `http://127.0.0.1:${stub.port}`, health: { path: '/health', intervalMs: 100 } },
        })
      ).status,
    ).toBe(201);
    await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'orphan', cron: '*/1 * * * * *', service: 'brief', payload: {} } });
    expect((await jg.fetch('/api/v1/services/brief', { method: 'DELETE' })).status).toBe(200);
    await waitFor(() => jg.logs.lines.filter((l) => l.includes('schedule could not submit its job')).length >= 2, 'two failed ticks logged');
    // Still serving, the schedule still there.
    expect((await jg.fetch('/api/v1/schedules/orphan')).status).toBe(200);
    const audit = await jg.fetch('/api/v1/audit?limit=500');
    expect(JSON.stringify(audit.json)).toContain('service_not_found');
  });
});
