/**
 * The recovery rule at boot (docs/jobs.md), for a gateway stopped mid-job (a graceful stop leaves
 * in-flight jobs exactly as a crash does): an interrupted attempt counts; the job is queued again
 * if it has attempts left, and fails with gateway_restarted if not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import { startJobsGateway, withJobs, type JobsGateway } from '../helpers/jobs.js';

let g: JobsGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

async function interruptAndRestart(maxAttempts: number): Promise<{ id: string; g: JobsGateway }> {
  const first = await startJobsGateway();
  const j = await first.submit({ service: 'worker', maxAttempts, payload: { steps: 30, stepMs: 50 } });
  await first.until(j.id, ['running']);
  const { dataDir } = first;
  const services = first.gw.config.services;
  await first.stop();
  g = withJobs(await startGateway({ dataDir, services, jobs: { retryBaseMs: 50 } }), 0);
  return { id: j.id, g };
}

describe('recovery at boot', () => {
  it('queues an interrupted job again when it has attempts left; the attempt counts', async () => {
    const { id, g: jg } = await interruptAndRestart(3);
    const done = await jg.until(id, undefined, 30_000);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, error: null });
    const audit = await jg.fetch('/api/v1/audit?limit=1000');
    const recovered = audit.json.entries.filter((e: { type: string }) => e.type === 'jobs.recovered');
    expect(recovered.at(-1).detail).toMatchObject({ requeued: 1, failed: 0 });
  });

  it('fails an interrupted job that has no attempt left with gateway_restarted', async () => {
    const { id, g: jg } = await interruptAndRestart(1);
    const done = await jg.job(id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'gateway_restarted' } });
    expect(done.finishedAt).not.toBeNull();
  });
});
