/**
 * An outcome is announced only once it is durable. Finishes and re-queues are group-committed with
 * the submissions of the same turn (one synced COMMIT for many jobs); the job's event, its callback,
 * its notifications and the GET that shows it final all come after that commit. Checked against a
 * second connection to moat.db (what another reader, or the disk after a power cut, would see), and
 * with the finish refused by the database (a trigger standing in for a full disk): nothing is
 * announced until the write goes through.
 */
import Database from 'better-sqlite3';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventBus, MoatEvent } from '../../src/domain/events/bus.js';
import { startGateway } from '../helpers/gateway.js';
import { startJobsGateway, withJobs, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

const OPEN_CALLBACKS = { egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } }, callbacks: { retryBaseMs: 50 } };

let g: JobsGateway | null = null;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await g?.stop();
  g = null;
});

/** A second connection to the gateway's database: it sees only what is committed. */
function otherConnection(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, 'moat.db'));
  db.pragma('busy_timeout = 5000');
  closers.push(() => db.close());
  return db;
}

function stateIn(db: Database.Database, id: string): string | undefined {
  return (db.prepare('SELECT state FROM jobs WHERE id = ?').get(id) as { state: string } | undefined)?.state;
}

function busOf(jg: JobsGateway): EventBus {
  return jg.gw.parts.events;
}

/** A callback receiver that notes, as each callback arrives, what the other connection reads for the job. */
async function receiver(db: Database.Database): Promise<{ url: string; got: Array<{ id: string; state: string; committed: string | undefined }> }> {
  const got: Array<{ id: string; state: string; committed: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const { job } = JSON.parse(raw) as { job: { id: string; state: string } };
      got.push({ id: job.id, state: job.state, committed: stateIn(db, job.id) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`, got };
}

describe('an outcome is announced once it is durable', () => {
  it('publishes succeeded, failed and retrying events only when another connection already reads that state', async () => {
    g = await startJobsGateway(OPEN_CALLBACKS, { concurrency: 8 });
    const db = otherConnection(g.dataDir);
    const seen: Array<{ type: string; id: string; committed: string | undefined }> = [];
    const unsubscribe = busOf(g).subscribe((e: MoatEvent) => {
      if (['job.succeeded', 'job.failed', 'job.retrying', 'job.canceled'].includes(e.type)) {
        seen.push({ type: e.type, id: e.data['id'] as string, committed: stateIn(db, e.data['id'] as string) });
      }
    });
    closers.push(unsubscribe);
    const r = await receiver(db);
    // In parallel, so that finishes, re-queues and submissions share commits.
    const payloads = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 0 ? { steps: 0, fail: true } : i % 3 === 1 ? { steps: 0, failAttempts: 1 } : { steps: 0, i },
    );
    const jobs = await Promise.all(payloads.map((payload) => g!.submit({ service: 'worker', payload, callbackUrl: r.url })));
    for (const j of jobs) await g.until(j.id);
    await waitFor(() => r.got.length >= jobs.length, 'every callback');

    const expected = { 'job.succeeded': 'succeeded', 'job.failed': 'failed', 'job.retrying': 'queued', 'job.canceled': 'canceled' } as const;
    expect(seen.filter((s) => s.type === 'job.retrying')).toHaveLength(8);
    expect(seen.filter((s) => s.type !== 'job.retrying')).toHaveLength(24);
    for (const s of seen) expect(s).toEqual({ ...s, committed: expected[s.type as keyof typeof expected] });
    for (const c of r.got) expect(c.committed).toBe(c.state);
  });

  it('does not announce a finish the database refused (no event, no callback, still running), and announces it once when it goes through', async () => {
    g = await startJobsGateway(OPEN_CALLBACKS);
    const db = otherConnection(g.dataDir);
    const events: string[] = [];
    closers.push(busOf(g).subscribe((e) => void (e.type.startsWith('job.') && events.push(e.type))));
    const r = await receiver(db);
    // Stands in for a full disk: the UPDATE that finishes a job fails until the trigger is dropped.
    db.exec("CREATE TRIGGER refuse_finish BEFORE UPDATE OF state ON jobs WHEN NEW.state = 'succeeded' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END");
    const j = await g.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
    // The worker answered, and the gateway has failed to record it twice (it retries with backoff).
    await waitFor(async () => (await g!.workerStats()).total === 1 && (await g!.workerStats()).active === 0, 'the worker to answer');
    await waitFor(() => g!.logs.lines.filter((l) => l.includes('could not record the outcome of a job')).length >= 2, 'two failed writes');

    expect(events).not.toContain('job.succeeded');
    expect(r.got).toEqual([]);
    expect((await g.job(j.id)).state).toBe('running');
    expect(stateIn(db, j.id)).toBe('running');

    db.exec('DROP TRIGGER refuse_finish');
    const done = await g.until(j.id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, result: { echo: { steps: 0 } } });
    await waitFor(() => r.got.length === 1, 'the callback');
    expect(r.got[0]).toMatchObject({ id: j.id, state: 'succeeded', committed: 'succeeded' });
    expect(events.filter((t) => t === 'job.succeeded')).toEqual(['job.succeeded']);
    expect((await g.workerStats()).total).toBe(1);
  });

  it('ends a job canceled, without another attempt, when its cancel comes while its re-queue is being committed', async () => {
    g = await startJobsGateway({ jobs: { retryBaseMs: 50 } });
    const db = otherConnection(g.dataDir);
    // The re-queue after the failed first attempt cannot be written until the trigger is dropped.
    db.exec(
      "CREATE TRIGGER refuse_requeue BEFORE UPDATE OF state ON jobs WHEN NEW.state = 'queued' AND OLD.state = 'running' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END",
    );
    const j = await g.submit({ service: 'worker', maxAttempts: 5, payload: { steps: 0, failAttempts: 3 } });
    await waitFor(() => g!.logs.lines.some((l) => l.includes('could not record the outcome of a job')), 'a failed re-queue');
    // The cancel waits for the outcome being written; it is answered once the job is canceled.
    const canceled = g.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' });
    await waitFor(() => (db.prepare('SELECT cancel_requested AS c FROM jobs WHERE id = ?').get(j.id) as { c: number }).c === 1, 'the cancel marked');
    db.exec('DROP TRIGGER refuse_requeue');
    const res = await canceled;
    expect(res.status).toBe(200);
    expect(res.json.state).toBe('canceled');
    expect(await g.until(j.id)).toMatchObject({ state: 'canceled', attempts: 1 });
    // The retry never ran: the worker saw the first attempt only.
    expect((await g.workerStats()).total).toBe(1);
  });

  it('cancels at the next boot a queued job whose cancel was marked but not committed before the gateway stopped', async () => {
    const first = await startJobsGateway({ drainTimeoutSeconds: 0 });
    g = first;
    const blocker = await first.submit({ service: 'worker', payload: { steps: 40, stepMs: 50 } });
    await first.until(blocker.id, ['running']);
    const queued = await first.submit({ service: 'worker', payload: { steps: 0 } });
    const { dataDir } = first;
    const services = first.gw.config.services;
    await first.stop();
    g = null;
    // What a crash between the synced cancel mark and the commit of the canceled state leaves.
    const db = new Database(join(dataDir, 'moat.db'));
    expect(db.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'queued'").run(queued.id).changes).toBe(1);
    db.close();

    g = withJobs(await startGateway({ dataDir, services, jobs: { retryBaseMs: 50 } }), 0);
    expect(await g.job(queued.id)).toMatchObject({ state: 'canceled', attempts: 0, startedAt: null });
    expect(await g.until(blocker.id)).toMatchObject({ state: 'succeeded', attempts: 2 });
  });
});
