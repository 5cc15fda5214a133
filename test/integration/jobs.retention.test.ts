/** Retention: finished jobs are deleted jobs.retentionHours after they finished (checked at boot and hourly); newer ones stay. */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import { startJobsGateway, withJobs, type JobsGateway } from '../helpers/jobs.js';

let g: JobsGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

const HOUR = 3_600_000;

describe('retention of finished jobs', () => {
  it('deletes a job finished more than jobs.retentionHours ago, and keeps a newer one', async () => {
    let now = Date.parse('2030-06-01T00:00:00Z');
    const clock = () => now;
    const first = await startJobsGateway({ jobs: { retentionHours: 24 } }, {}, { now: clock });
    g = first;
    const old = await first.submit({ service: 'worker', payload: { steps: 0 } });
    await first.until(old.id);
    now += 20 * HOUR;
    const recent = await first.submit({ service: 'worker', payload: { steps: 0 } });
    await first.until(recent.id);
    const { dataDir } = first;
    const services = first.gw.config.services;
    await first.stop();
    g = null;
    now += 5 * HOUR; // 25 h after the first finished, 5 h after the second
    g = withJobs(await startGateway({ dataDir, services, jobs: { retentionHours: 24 } }, { now: clock }), 0);
    expect((await g.fetch(`/api/v1/jobs/${old.id}`)).status).toBe(404);
    expect((await g.job(recent.id)).state).toBe('succeeded');
  });
});
