/**
 * The recovery rule at boot (docs/jobs.md), for a gateway stopped mid-job with no drain window
 * (drainTimeoutSeconds 0: a job still running when the drain ends is left exactly as a crash leaves
 * it): an interrupted attempt counts; the job is queued again if it has attempts left, and fails
 * with gateway_restarted if not.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import { startJobsGateway, withJobs, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

const OPEN_CALLBACKS = { egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } } };

async function interruptAndRestart(maxAttempts: number, extra: Record<string, unknown> = {}): Promise<{ id: string; g: JobsGateway }> {
  const first = await startJobsGateway({ ...OPEN_CALLBACKS, drainTimeoutSeconds: 0 });
  const j = await first.submit({ service: 'worker', maxAttempts, payload: { steps: 30, stepMs: 50 }, ...extra });
  await first.until(j.id, ['running']);
  const { dataDir } = first;
  const services = first.gw.config.services;
  await first.stop();
  g = withJobs(await startGateway({ dataDir, services, jobs: { retryBaseMs: 50 }, ...OPEN_CALLBACKS }), 0);
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

  it('sends the callback of a job failed by recovery exactly once', async () => {
    const got: Array<{ id: string; state: string; code: string | null }> = [];
    const receiver = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const { job } = JSON.parse(raw);
        got.push({ id: job.id, state: job.state, code: job.error?.code ?? null });
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
    try {
      const { id, g: jg } = await interruptAndRestart(1, { callbackUrl: url });
      await waitFor(() => got.some((x) => x.id === id), 'the callback');
      // A later job's callback is the clock: a second one for the recovered job would be in by then.
      const later = await jg.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: url });
      await waitFor(() => got.some((x) => x.id === later.id), 'the later callback');
      expect(got.filter((x) => x.id === id)).toEqual([{ id, state: 'failed', code: 'gateway_restarted' }]);
      expect((await jg.job(id)).callback.attempts).toHaveLength(1);
    } finally {
      receiver.close();
    }
  });
});
