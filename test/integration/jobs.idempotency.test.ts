/**
 * Idempotency-Key on POST /api/v1/jobs: the same key and body return the first job (replayed), the
 * same key with another body is 409 idempotency_conflict, keys are UUIDs, scoped per token, kept
 * durably across restarts, and forgotten after jobs.idempotencyHours.
 */
import Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startJobsGateway, tokenWith, withJobs, type JobsGateway } from '../helpers/jobs.js';
import { startGateway } from '../helpers/gateway.js';

let g: JobsGateway | null = null;
let other: JobsGateway | null = null;
afterEach(async () => {
  await g?.stop();
  await other?.stop();
  g = null;
  other = null;
});

/** The submission as the docs describe the comparison: object keys sorted (written here, not taken from moat). */
const sorted = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sorted)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
        )
      : v;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The idempotency record of `key`, read from the gateway's own database file. */
function storedHash(jg: JobsGateway, key: string): string {
  const db = new Database(join(jg.dataDir, 'moat.db'), { readonly: true });
  try {
    return (db.prepare('SELECT body_hash FROM idempotency_keys WHERE key = ?').get(key) as { body_hash: string }).body_hash;
  } finally {
    db.close();
  }
}

const post = (jg: JobsGateway, body: unknown, key: string, auth?: string) =>
  jg.fetch('/api/v1/jobs', { method: 'POST', body, headers: { 'idempotency-key': key }, ...(auth ? { auth } : {}) });

describe('Idempotency-Key', () => {
  it('returns the first job for the same key and body, marked Idempotency-Replayed: true', async () => {
    g = await startJobsGateway();
    const key = randomUUID();
    const body = { service: 'worker', payload: { steps: 0, n: 1 }, priority: 1 };
    const first = await post(g, body, key);
    expect(first.status).toBe(202);
    expect(first.headers['idempotency-replayed']).toBeUndefined();
    const again = await post(g, { priority: 1, payload: { n: 1, steps: 0 }, service: 'worker' }, key); // same body, keys reordered
    expect(again.status).toBe(202);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    await g.until(first.json.id);
    // After it ran, the replay answers with the job as it is now.
    const late = await post(g, body, key);
    expect(late.json).toMatchObject({ id: first.json.id, state: 'succeeded' });
    const all = await g.fetch('/api/v1/jobs?service=worker');
    expect(all.json.jobs.filter((j: { id: string }) => j.id === first.json.id)).toHaveLength(1);
    expect(all.json.jobs).toHaveLength(1);
  });

  it('answers 409 idempotency_conflict for the same key with another body', async () => {
    g = await startJobsGateway();
    const key = randomUUID();
    expect((await post(g, { service: 'worker', payload: { steps: 0, n: 1 } }, key)).status).toBe(202);
    const other = await post(g, { service: 'worker', payload: { steps: 0, n: 2 } }, key);
    expect(other.status).toBe(409);
    expect(other.json).toMatchObject({ code: 'idempotency_conflict' });
    const moreOptions = await post(g, { service: 'worker', payload: { steps: 0, n: 1 }, maxAttempts: 1 }, key);
    expect(moreOptions.status).toBe(409);
  });

  it('stores a fingerprint keyed per install, not a plain SHA-256 a copy of the database could test guesses against', async () => {
    g = await startJobsGateway();
    other = await startJobsGateway();
    const key = randomUUID();
    const body = { service: 'worker', payload: { answer: 'yes' } };
    expect((await post(g, body, key)).status).toBe(202);
    expect((await post(other, body, key)).status).toBe(202);
    const stored = storedHash(g, key);
    expect(stored).toMatch(/^k1:[0-9a-f]{64}$/);
    for (const guess of [JSON.stringify(sorted(body)), JSON.stringify(body), JSON.stringify(body.payload)]) {
      expect(stored).not.toContain(sha256(guess));
    }
    // The same body under another install key gives another fingerprint.
    expect(storedHash(other, key)).not.toBe(stored);
    // Replay and conflict work as before.
    const replay = await post(g, { payload: { answer: 'yes' }, service: 'worker' }, key);
    expect(replay.headers['idempotency-replayed']).toBe('true');
    expect((await post(g, { service: 'worker', payload: { answer: 'no' } }, key)).json.code).toBe('idempotency_conflict');
  });

  it('still honours a record written before fingerprints were keyed (a plain SHA-256), until it expires', async () => {
    g = await startJobsGateway();
    const job = await g.submit({ service: 'worker', payload: { steps: 0 } });
    const key = randomUUID();
    const body = { service: 'worker', payload: { steps: 0, n: 3 } };
    const db = new Database(join(g.dataDir, 'moat.db'));
    const tokenId = (db.prepare('SELECT created_by FROM jobs WHERE id = ?').get(job.id) as { created_by: string }).created_by;
    db.prepare('INSERT INTO idempotency_keys (token_id, key, body_hash, job_id, created_at) VALUES (?, ?, ?, ?, ?)').run(
      tokenId,
      key,
      sha256(JSON.stringify(sorted(body))),
      job.id,
      Date.now(),
    );
    db.close();
    const replay = await post(g, body, key);
    expect(replay.headers['idempotency-replayed']).toBe('true');
    expect(replay.json.id).toBe(job.id);
    expect((await post(g, { ...body, priority: 5 }, key)).json.code).toBe('idempotency_conflict');
  });

  it('refuses a key that is not a UUID with 400 validation_failed', async () => {
    g = await startJobsGateway();
    for (const key of ['abc', '12345678-1234-1234-1234-1234567890', 'not-a-uuid-at-all-but-long-enough-0000', `${randomUUID()}x`]) {
      const res = await post(g, { service: 'worker', payload: {} }, key);
      expect(res.status, key).toBe(400);
      expect(res.json.code).toBe('validation_failed');
    }
    expect((await g.fetch('/api/v1/jobs')).json.jobs).toHaveLength(0);
  });

  it('scopes keys per token: another token with the same key gets a new job', async () => {
    g = await startJobsGateway();
    const other = await tokenWith(g, ['jobs']);
    const key = randomUUID();
    const body = { service: 'worker', payload: { steps: 0 } };
    const a = await post(g, body, key);
    const b = await post(g, body, key, other);
    expect(b.status).toBe(202);
    expect(b.headers['idempotency-replayed']).toBeUndefined();
    expect(b.json.id).not.toBe(a.json.id);
    // And the other token's replay finds its own job.
    expect((await post(g, body, key, other)).json.id).toBe(b.json.id);
  });

  it('lets concurrent submissions with one key create one job', async () => {
    g = await startJobsGateway({ egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } } });
    const key = randomUUID();
    // A callbackUrl makes submission wait for the egress check, so the requests really overlap.
    const body = { service: 'worker', payload: { steps: 0 }, callbackUrl: 'http://127.0.0.1:9/cb' };
    const results = await Promise.all(Array.from({ length: 8 }, () => post(g!, body, key)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(202));
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotency-replayed'] === undefined)).toHaveLength(1);
  });

  it('keeps keys across a restart (durably), and forgets them after jobs.idempotencyHours', async () => {
    let now = Date.now();
    const clock = () => now;
    const values = { jobs: { idempotencyHours: 1 } };
    g = await startJobsGateway(values, {}, { now: clock });
    const key = randomUUID();
    const body = { service: 'worker', payload: { steps: 0 } };
    const first = await post(g, body, key);
    await g.until(first.json.id);
    const dataDir = g.dataDir;
    const services = g.gw.config.services;
    await g.stop();
    const restarted = await startGateway({ dataDir, services, jobs: { idempotencyHours: 1 } }, { now: clock });
    g = withJobs(restarted, 0);
    const replay = await post(g, body, key);
    expect(replay.headers['idempotency-replayed']).toBe('true');
    expect(replay.json.id).toBe(first.json.id);
    now += 61 * 60_000;
    const fresh = await post(g, body, key);
    expect(fresh.status).toBe(202);
    expect(fresh.headers['idempotency-replayed']).toBeUndefined();
    expect(fresh.json.id).not.toBe(first.json.id);
  });
});
