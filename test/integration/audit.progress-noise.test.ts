/**
 * Noise must not wash out the record: a service's progress posts (many per job) are counted in the
 * request metrics, not audited one by one; the job's own transitions and a refused post still are.
 * The example worker posts each step's progress before its answer and none after, so a finished job
 * leaves no 409 behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';
import { parsePrometheus, sampleValue } from '../helpers/prom.js';
import { waitFor } from '../helpers/services.js';

const PROGRESS = '/api/v1/jobs/:id/progress';
let g: JobsGateway;

beforeAll(async () => {
  g = await startJobsGateway();
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});
afterAll(async () => {
  await g?.stop();
});

async function auditEntries(): Promise<Array<{ type: string; route?: string; status?: number; detail?: Record<string, unknown> }>> {
  return (await g.fetch('/api/v1/audit?after=0&limit=1000')).json.entries;
}

async function progressCount(status: string): Promise<number> {
  const text = (await g.fetch('/metrics')).text;
  return sampleValue(parsePrometheus(text), 'moat_http_requests_total', { route: PROGRESS, method: 'POST', status }) ?? 0;
}

describe('progress posts', () => {
  it('are counted in metrics, not audited one by one, and the example worker sends none after its answer', async () => {
    const jobs = await Promise.all([0, 1, 2].map(() => g.submit({ service: 'worker', payload: { steps: 5, stepMs: 5 } })));
    for (const j of jobs) expect((await g.until(j.id)).state).toBe('succeeded');
    // Every step's post was answered before the job's answer: 15 accepted, none refused as late.
    await waitFor(async () => (await progressCount('2xx')) === 15, '15 progress posts counted');
    expect(await progressCount('4xx')).toBe(0);

    const entries = await auditEntries();
    expect(entries.filter((e) => e.route === PROGRESS)).toEqual([]);
    // The job's own record is there: its submission (a write) for each job.
    expect(entries.filter((e) => e.type === 'http.write' && e.route === '/api/v1/jobs' && e.status === 202)).toHaveLength(3);
  });

  it('still audits a refused post (a wrong progress token) as an auth failure', async () => {
    const job = await g.submit({ service: 'worker', payload: { steps: 1, stepMs: 1 } });
    await g.until(job.id);
    const res = await request(`${g.url}/api/v1/jobs/${job.id}/progress`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-progress-token', 'content-type': 'application/json' },
      body: JSON.stringify({ progress: 0.5 }),
    });
    await res.body.dump();
    expect(res.statusCode).toBe(401);
    await waitFor(
      async () => (await auditEntries()).some((e) => e.type === 'auth.failure' && (e as { requestId?: string }).requestId === res.headers['x-request-id']),
      'auth.failure entry',
    );
  });
});
