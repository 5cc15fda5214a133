/**
 * Schedules across restarts: they survive (and fire again), and ticks missed while the gateway was
 * down follow the documented rule at boot: `run-once` submits exactly one job, `skip` none
 * (schedules.missed, or a schedule's own `missed`). The clock is injected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { withJobs, type JobsGateway } from '../helpers/jobs.js';
import { waitFor, workerService } from '../helpers/services.js';

let g: TestGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

const DAY = 86_400_000;

async function bootAt(dataDir: string, worker: Record<string, unknown>, clock: () => number, values: Record<string, unknown> = {}): Promise<JobsGateway> {
  await g?.stop();
  g = await startGateway({ dataDir, services: [worker], ...values }, { now: clock });
  return withJobs(g, 0);
}

async function scheduledJobs(jg: TestGateway, name: string): Promise<Array<{ id: string }>> {
  const res = await jg.fetch('/api/v1/jobs?limit=500');
  return res.json.jobs.filter((j: { createdBy: { id: string } }) => j.createdBy.id === `schedule:${name}`);
}

describe('schedules survive restarts', () => {
  it('keeps a schedule (and its paused state) across a restart, and it fires again', async () => {
    const dataDir = tmpDir();
    const { port: _p, ...worker } = await workerService('worker', { concurrency: 1 });
    let jg = await bootAt(dataDir, worker, Date.now);
    await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'every-second', cron: '*/1 * * * * *', service: 'worker', payload: { steps: 0 } } });
    await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'held', cron: '0 3 * * *', service: 'worker' } });
    await jg.fetch('/api/v1/schedules/held/pause', { method: 'POST' });
    jg = await bootAt(dataDir, worker, Date.now);
    const list = (await jg.fetch('/api/v1/schedules')).json.schedules;
    expect(list.map((s: { name: string; paused: boolean }) => [s.name, s.paused])).toEqual([
      ['every-second', false],
      ['held', true],
    ]);
    const before = (await scheduledJobs(jg, 'every-second')).length;
    await waitFor(async () => (await scheduledJobs(jg, 'every-second')).length > before, 'a tick after the restart');
  });
});

describe('the missed-tick rule at boot', () => {
  const T0 = Date.parse('2030-01-01T00:00:00Z');

  async function missedAfterDowntime(rule: { global?: 'run-once' | 'skip'; own?: 'run-once' | 'skip' }): Promise<{ jobs: number; lastRunAt: string | null }> {
    const dataDir = tmpDir();
    const { port: _p, ...worker } = await workerService('worker', { concurrency: 1 });
    let now = T0;
    const clock = () => now;
    const values = rule.global ? { schedules: { missed: rule.global } } : {};
    let jg = await bootAt(dataDir, worker, clock, values);
    const created = await jg.fetch('/api/v1/schedules', {
      method: 'POST',
      body: { name: 'nightly', cron: '0 3 * * *', timezone: 'UTC', service: 'worker', payload: { steps: 0 }, ...(rule.own ? { missed: rule.own } : {}) },
    });
    expect(created.json.nextRunAt).toBe('2030-01-01T03:00:00.000Z');
    // Down for three days: three 03:00 ticks missed.
    now = T0 + 3 * DAY;
    jg = await bootAt(dataDir, worker, clock, values);
    const jobs = await scheduledJobs(jg, 'nightly');
    for (const j of jobs) await jg.until(j.id);
    const s = (await jg.fetch('/api/v1/schedules/nightly')).json;
    expect(s.nextRunAt).toBe('2030-01-04T03:00:00.000Z');
    return { jobs: jobs.length, lastRunAt: s.lastRunAt };
  }

  it('run-once (the default): submits exactly one job at boot for all the ticks missed', async () => {
    const r = await missedAfterDowntime({});
    expect(r.jobs).toBe(1);
    expect(r.lastRunAt).toBe(new Date(T0 + 3 * DAY).toISOString());
  });

  it('skip (schedules.missed): submits nothing at boot and waits for the next tick', async () => {
    expect((await missedAfterDowntime({ global: 'skip' })).jobs).toBe(0);
  });

  it("a schedule's own rule wins over schedules.missed, both ways", async () => {
    expect((await missedAfterDowntime({ global: 'skip', own: 'run-once' })).jobs).toBe(1);
    expect((await missedAfterDowntime({ global: 'run-once', own: 'skip' })).jobs).toBe(0);
  });

  it('submits nothing at boot when no tick was missed', async () => {
    const dataDir = tmpDir();
    const { port: _p, ...worker } = await workerService('worker', { concurrency: 1 });
    let now = T0;
    const clock = () => now;
    let jg = await bootAt(dataDir, worker, clock);
    await jg.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'nightly', cron: '0 3 * * *', timezone: 'UTC', service: 'worker' } });
    now = T0 + 60 * 60_000; // 01:00, before the first tick
    jg = await bootAt(dataDir, worker, clock);
    expect(await scheduledJobs(jg, 'nightly')).toHaveLength(0);
  });
});
