/**
 * Per-service concurrency, proven at the worker (its own /stats counts jobs it handles at once), and
 * the order of the queue: priority first, then first in first out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';

let g: JobsGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

/** No two [startedAt, finishedAt] intervals overlap (touching ends are fine: ms resolution). */
function overlaps(jobs: Array<{ id: string; startedAt: string; finishedAt: string }>): string[] {
  const sorted = [...jobs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const out: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (Date.parse(cur.startedAt) < Date.parse(prev.finishedAt)) out.push(`${prev.id} and ${cur.id}`);
  }
  return out;
}

describe('per-service concurrency', () => {
  it('holds a concurrency of 1 under 50 parallel submissions: the worker never runs two at once and runs each once', async () => {
    g = await startJobsGateway();
    const jg = g;
    const submitted = await Promise.all(Array.from({ length: 50 }, (_, i) => jg.submit({ service: 'worker', payload: { steps: 1, stepMs: 2, i } })));
    expect(new Set(submitted.map((j) => j.id)).size).toBe(50);
    const done = [];
    for (const j of submitted) done.push(await jg.until(j.id, undefined, 60_000));
    expect(done.every((j) => j.state === 'succeeded' && j.attempts === 1)).toBe(true);
    const stats = await jg.workerStats();
    expect(stats).toEqual({ active: 0, maxActive: 1, total: 50 });
    expect(overlaps(done)).toEqual([]);
    // Each job got its own payload back.
    for (const j of done) expect(j.result.echo.i).toBe(j.payload.i);
  });

  it('runs up to the declared concurrency at once, and no more', async () => {
    g = await startJobsGateway({}, { concurrency: 3 });
    const jg = g;
    const submitted = await Promise.all(Array.from({ length: 12 }, () => jg.submit({ service: 'worker', payload: { steps: 2, stepMs: 40 } })));
    for (const j of submitted) await jg.until(j.id, ['succeeded']);
    const stats = await jg.workerStats();
    expect(stats.total).toBe(12);
    expect(stats.maxActive).toBe(3);
  });
});

describe('queue order', () => {
  it('dispatches by priority, highest first, then first in first out', async () => {
    g = await startJobsGateway();
    const blocker = await g.submit({ service: 'worker', payload: { steps: 10, stepMs: 40 } });
    await g.until(blocker.id, ['running']);
    const order = [
      { name: 'low-1', priority: -5 },
      { name: 'mid-1', priority: 0 },
      { name: 'high-1', priority: 10 },
      { name: 'mid-2', priority: 0 },
      { name: 'high-2', priority: 10 },
      { name: 'low-2', priority: -5 },
    ];
    const ids = new Map<string, string>();
    for (const o of order) ids.set((await g.submit({ service: 'worker', priority: o.priority, payload: { steps: 0, name: o.name } })).id, o.name);
    for (const id of ids.keys()) await g.until(id);
    // The worker logs `job <id> attempt <n>` as each job arrives: its order of arrival is the truth.
    const logs = await g.fetch('/api/v1/services/worker/logs?tail=500');
    const arrived = (logs.json.lines as Array<{ line: string }>)
      .map((l) => /^job (\S+) attempt 1/.exec(l.line)?.[1])
      .filter((id): id is string => id !== undefined && ids.has(id));
    expect(arrived.map((id) => ids.get(id))).toEqual(['high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2']);
  });
});
