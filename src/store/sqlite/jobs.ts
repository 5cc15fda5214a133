/**
 * SQLite implementation of JobStore: prepared, parameterized statements; claims are atomic UPDATEs;
 * submissions, finishes and re-queues are group-committed (synced before their promise resolves).
 */
import type { CallbackAttempt, IdempotencyRecord, JobRecord, JobState, JobStore } from '../types.js';
import { GatewayError } from '../../errors.js';
import { withoutSync, type Db } from './database.js';
import { groupCommit } from './group-commit.js';

/** The writes that are durable before they are acknowledged or announced: they share one group commit. */
type DurableWrite =
  | { kind: 'insert'; job: JobRecord; key: (IdempotencyRecord & { keyNotBefore: number }) | undefined }
  | { kind: 'finish'; id: string; state: 'succeeded' | 'failed' | 'canceled'; outcome: Buffer | null; errorCode: string | null; now: number }
  | { kind: 'requeue'; id: string; nextAttemptAt: number; errorCode: string; outcome: Buffer; now: number };

interface Row {
  id: string;
  seq: number;
  service: string;
  state: JobState;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_seconds: number;
  payload: Buffer;
  outcome: Buffer | null;
  error_code: string | null;
  progress: number | null;
  progress_message: string | null;
  callback: Buffer | null;
  notify: string | null;
  progress_token_hash: string | null;
  cancel_requested: number;
  run_id: string | null;
  created_by: string | null;
  created_by_name: string | null;
  owner: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_attempt_at: number | null;
}

const toJob = (r: Row): JobRecord => ({
  id: r.id,
  seq: r.seq,
  service: r.service,
  state: r.state,
  priority: r.priority,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  timeoutSeconds: r.timeout_seconds,
  payload: r.payload,
  outcome: r.outcome,
  errorCode: r.error_code,
  progress: r.progress,
  progressMessage: r.progress_message,
  callback: r.callback,
  notify: r.notify === null ? null : (JSON.parse(r.notify) as string[]),
  progressTokenHash: r.progress_token_hash,
  cancelRequested: r.cancel_requested === 1,
  runId: r.run_id,
  createdBy: r.created_by,
  createdByName: r.created_by_name,
  owner: r.owner,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  nextAttemptAt: r.next_attempt_at,
});

export function sqliteJobStore(db: Db): JobStore {
  const insertJob = db.prepare(
    `INSERT INTO jobs (id, seq, service, state, priority, attempts, max_attempts, timeout_seconds, payload, outcome, error_code,
       progress, progress_message, callback, notify, progress_token_hash, cancel_requested, run_id, created_by, created_by_name, owner,
       created_at, updated_at, started_at, finished_at, next_attempt_at)
     VALUES (@id, @seq, @service, @state, @priority, @attempts, @maxAttempts, @timeoutSeconds, @payload, @outcome, @errorCode,
       @progress, @progressMessage, @callback, @notify, @progressTokenHash, @cancelRequested, @runId, @createdBy, @createdByName, @owner,
       @createdAt, @updatedAt, @startedAt, @finishedAt, @nextAttemptAt)`,
  );
  // An expired key (not purged yet) is taken over; a live one is a concurrent submission.
  const insertKey = db.prepare(
    `INSERT INTO idempotency_keys (token_id, key, body_hash, job_id, created_at) VALUES (@tokenId, @key, @bodyHash, @jobId, @createdAt)
     ON CONFLICT (token_id, key) DO UPDATE SET body_hash = excluded.body_hash, job_id = excluded.job_id, created_at = excluded.created_at
     WHERE idempotency_keys.created_at < @keyNotBefore`,
  );
  const one = db.prepare<[string], Row>('SELECT * FROM jobs WHERE id = ?');
  const findKey = db.prepare<[string, string, number], { token_id: string; key: string; body_hash: string; job_id: string; created_at: number }>(
    'SELECT * FROM idempotency_keys WHERE token_id = ? AND key = ? AND created_at >= ?',
  );
  // Highest priority first, then first in first out; a job waiting for its retry backoff is skipped,
  // and so is one whose cancel was asked for (its canceled state is being committed): it never runs.
  const claim = db.prepare<[{ service: string; now: number; tokenDigest: string; state: 'dispatched' | 'running' }], Row>(
    `UPDATE jobs SET state = @state, attempts = attempts + 1, started_at = @now, updated_at = @now, next_attempt_at = NULL,
       progress_token_hash = @tokenDigest, progress = NULL, progress_message = NULL
     WHERE id = (SELECT id FROM jobs WHERE service = @service AND state = 'queued' AND cancel_requested = 0 AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
                 ORDER BY priority DESC, seq LIMIT 1)
     RETURNING *`,
  );
  const running = db.prepare("UPDATE jobs SET state = 'running', updated_at = ? WHERE id = ? AND state = 'dispatched'");
  const progress = db.prepare("UPDATE jobs SET progress = ?, progress_message = ?, updated_at = ? WHERE id = ? AND state IN ('dispatched', 'running')");
  // The attempt's token digest stays until the next claim replaces it: a progress report that
  // arrives after the answer (the service posted it just before answering) is told 409, not 401.
  const finish = db.prepare(
    `UPDATE jobs SET state = @state, outcome = @outcome, error_code = @errorCode, finished_at = @now, updated_at = @now,
       progress = CASE WHEN @state = 'succeeded' THEN 1 ELSE progress END
     WHERE id = @id AND state IN ('queued', 'dispatched', 'running')`,
  );
  const requeue = db.prepare(
    "UPDATE jobs SET state = 'queued', next_attempt_at = ?, error_code = ?, outcome = ?, updated_at = ? WHERE id = ? AND state IN ('dispatched', 'running')",
  );
  // Delivered (2xx) and refused by the egress guard (never retried) are both done.
  const pendingCallbacks = db.prepare<[number], Row>(
    `SELECT j.* FROM jobs j WHERE j.callback IS NOT NULL AND j.state IN ('succeeded', 'failed', 'canceled')
       AND NOT EXISTS (SELECT 1 FROM job_callbacks c WHERE c.job_id = j.id AND (c.status BETWEEN 200 AND 299 OR c.error = 'egress_denied'))
       AND (SELECT COUNT(*) FROM job_callbacks c WHERE c.job_id = j.id) < ?`,
  );
  const cancel = db.prepare("UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND state IN ('queued', 'dispatched', 'running')");
  const del = db.prepare("DELETE FROM jobs WHERE id = ? AND state IN ('succeeded', 'failed', 'canceled')");
  const interrupted = db.prepare<[], Row>(
    "SELECT * FROM jobs WHERE state IN ('dispatched', 'running') OR (state = 'queued' AND cancel_requested = 1) ORDER BY seq",
  );
  const due = db.prepare<[number], { service: string }>(
    "SELECT DISTINCT service FROM jobs WHERE state = 'queued' AND cancel_requested = 0 AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
  );
  const nextDue = db.prepare<[number], { at: number | null }>("SELECT MIN(next_attempt_at) AS at FROM jobs WHERE state = 'queued' AND next_attempt_at > ?");
  const queuedOf = db.prepare<[string], Row>("SELECT * FROM jobs WHERE service = ? AND state = 'queued' ORDER BY seq");
  const maxSeq = db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM jobs');
  const counts = db.prepare<[], { service: string; state: JobState; count: number }>(
    'SELECT service, state, COUNT(*) AS count FROM jobs GROUP BY service, state',
  );
  const purge = db.prepare("DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'canceled') AND finished_at < ?");
  const purgeKeys = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  const recordCallback = db.prepare('INSERT OR REPLACE INTO job_callbacks (job_id, attempt, at, status, error) VALUES (?, ?, ?, ?, ?)');
  const callbacks = db.prepare<[string], CallbackAttempt>('SELECT attempt, at, status, error FROM job_callbacks WHERE job_id = ? ORDER BY attempt');
  // The slots freed in one turn are filled in one transaction: one commit (one WAL append) for all.
  const claimMany = db.transaction((service: string, now: number, max: number, tokenDigest: () => string, state: 'dispatched' | 'running'): JobRecord[] => {
    const claimed: JobRecord[] = [];
    while (claimed.length < max) {
      const r = claim.get({ service, now, tokenDigest: tokenDigest(), state });
      if (!r) break;
      claimed.push(toJob(r));
    }
    return claimed;
  });
  // Submissions, finishes and re-queues of one turn share one commit, each in its own savepoint of the
  // batch (a refused key undoes only its job); each caller learns of its write once the batch is synced.
  const durable = groupCommit(db, (w: DurableWrite): boolean => {
    switch (w.kind) {
      case 'insert':
        insertJob.run({ ...w.job, notify: w.job.notify === null ? null : JSON.stringify(w.job.notify), cancelRequested: w.job.cancelRequested ? 1 : 0 });
        if (w.key && insertKey.run(w.key).changes === 0)
          throw new GatewayError('idempotency_conflict', 'this Idempotency-Key is being used by another submission');
        return true;
      case 'finish':
        return finish.run({ id: w.id, state: w.state, outcome: w.outcome, errorCode: w.errorCode, now: w.now }).changes > 0;
      case 'requeue':
        return requeue.run(w.nextAttemptAt, w.errorCode, w.outcome, w.now, w.id).changes > 0;
    }
  });

  return {
    insert: (job, key) => durable.add({ kind: 'insert', job, key }).then(() => undefined),
    get: (id) => {
      const r = one.get(id);
      return r ? toJob(r) : undefined;
    },
    list: (f) => {
      const where: string[] = [];
      const params: Array<string | number> = [];
      if (f.service !== undefined) {
        where.push('service = ?');
        params.push(f.service);
      }
      if (f.state !== undefined) {
        where.push('state = ?');
        params.push(f.state);
      }
      if (f.owner !== undefined) {
        where.push('owner = ?');
        params.push(f.owner);
      }
      if (f.beforeSeq !== undefined) {
        where.push('seq < ?');
        params.push(f.beforeSeq);
      }
      const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
      return db
        .prepare<Array<string | number>, Row>(sql)
        .all(...params, f.limit)
        .map(toJob);
    },
    findIdempotent: (tokenId, key, notBefore) => {
      const r = findKey.get(tokenId, key, notBefore);
      return r ? { tokenId: r.token_id, key: r.key, bodyHash: r.body_hash, jobId: r.job_id, createdAt: r.created_at } : undefined;
    },
    // Claims, running marks and progress need no sync of their own: after a crash, recovery re-queues
    // (or fails) every job that was dispatched or running, lost claim or not (docs/jobs.md).
    claim: (service, now, max, tokenDigest, ready = false) =>
      withoutSync(db, () => claimMany(service, now, max, tokenDigest, ready ? 'running' : 'dispatched')),
    markRunning: (id, now) => withoutSync(db, () => running.run(now, id).changes > 0),
    setProgress: (id, p, message, now) => withoutSync(db, () => progress.run(p, message, now, id).changes > 0),
    finish: (id, state, outcome, errorCode, now) => durable.add({ kind: 'finish', id, state, outcome, errorCode, now }),
    requeue: (id, nextAttemptAt, errorCode, outcome, now) => durable.add({ kind: 'requeue', id, nextAttemptAt, errorCode, outcome, now }),
    requestCancel: (id, now) => cancel.run(now, id).changes > 0,
    delete: (id) => del.run(id).changes > 0,
    interrupted: () => interrupted.all().map(toJob),
    dueServices: (now) => due.all(now).map((r) => r.service),
    nextDueAt: (now) => nextDue.get(now)?.at ?? null,
    queuedOf: (service) => queuedOf.all(service).map(toJob),
    maxSeq: () => maxSeq.get()?.seq ?? 0,
    countsByState: () => counts.all(),
    purgeFinished: (before) => purge.run(before).changes,
    purgeIdempotency: (before) => purgeKeys.run(before).changes,
    recordCallback: (jobId, a) => void recordCallback.run(jobId, a.attempt, a.at, a.status, a.error),
    callbacks: (jobId) => callbacks.all(jobId),
    pendingCallbacks: (maxAttempts) => pendingCallbacks.all(maxAttempts).map(toJob),
  };
}
