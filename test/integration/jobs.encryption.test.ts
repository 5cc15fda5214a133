/**
 * Payloads at rest: job payloads, results, callback URLs and schedule payloads are sealed with the
 * per-install key (AES-256-GCM, <dataDir>/keys/jobs.key, 0600 in a 0700 dir), so the raw database
 * file and its WAL hold none of them; the API still shows them to a client with scope jobs.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modeOf } from '../../src/gateway.js';
import { removeDir, startGateway, tmpDir } from '../helpers/gateway.js';
import { json, startJobsGateway, startStub, type JobsGateway, type StubService } from '../helpers/jobs.js';

let g: JobsGateway;
let stub: StubService;
const PAYLOAD_MARK = `payload-marker-${randomBytes(8).toString('hex')}`;
const RESULT_MARK = `result-marker-${randomBytes(8).toString('hex')}`;
const CALLBACK_MARK = `callback-marker-${randomBytes(8).toString('hex')}`;
const SCHEDULE_MARK = `schedule-marker-${randomBytes(8).toString('hex')}`;

beforeAll(async () => {
  stub = await startStub('stub', (req, res) => json(res, 200, req.url === '/jobs' ? { answer: RESULT_MARK } : {}));
  g = await startJobsGateway({ services: [stub.spec], egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } } });
});
let stopped = false;
afterAll(async () => {
  if (!stopped) await g?.stop();
  await stub?.close();
});

/** Every byte SQLite holds for this install: the database, its WAL and shared memory. */
function rawDatabase(): Buffer {
  const base = join(g.dataDir, 'moat.db');
  return Buffer.concat(['', '-wal', '-shm'].filter((s) => existsSync(base + s)).map((s) => readFileSync(base + s)));
}

describe('encryption at rest', () => {
  it('keeps payloads, results, callback URLs and schedule payloads out of moat.db and moat.db-wal', async () => {
    const a = await g.submit({ service: 'worker', payload: { steps: 0, secret: PAYLOAD_MARK } });
    const b = await g.submit({ service: 'stub', payload: { q: 'x' }, callbackUrl: `http://127.0.0.1:9/${CALLBACK_MARK}` });
    expect((await g.until(a.id)).state).toBe('succeeded');
    expect((await g.until(b.id)).state).toBe('succeeded');
    expect(
      (
        await g.fetch('/api/v1/schedules', {
          method: 'POST',
          body: { name: 'sealed', cron: '0 3 * * *', service: 'worker', payload: { secret: SCHEDULE_MARK } },
        })
      ).status,
    ).toBe(201);

    // The API opens them for a client that may read jobs.
    const seenA = await g.job(a.id);
    expect(seenA.payload.secret).toBe(PAYLOAD_MARK);
    expect(seenA.result.echo.secret).toBe(PAYLOAD_MARK);
    expect((await g.job(b.id)).result.answer).toBe(RESULT_MARK);

    const raw = rawDatabase();
    // The rows are there (the ids are plain), their contents are not.
    expect(raw.includes(a.id)).toBe(true);
    expect(raw.includes(b.id)).toBe(true);
    for (const mark of [PAYLOAD_MARK, RESULT_MARK, CALLBACK_MARK, SCHEDULE_MARK]) expect(raw.includes(mark), mark).toBe(false);
    // Not even as UTF-16 or base64 (a lazy "encoding" would leak it too).
    expect(raw.includes(Buffer.from(PAYLOAD_MARK, 'utf16le'))).toBe(false);
    expect(raw.includes(Buffer.from(PAYLOAD_MARK).toString('base64').slice(0, 20))).toBe(false);
  });

  it('still has none of them after a checkpoint moved the WAL into the database file', async () => {
    await g.stop(); // closing the database checkpoints the WAL
    stopped = true;
    const raw = rawDatabase();
    for (const mark of [PAYLOAD_MARK, RESULT_MARK, CALLBACK_MARK, SCHEDULE_MARK]) expect(raw.includes(mark), mark).toBe(false);
  });

  it('opens nothing from a copy of the database under another install: payloads and results show as unreadable', async () => {
    const other = tmpDir();
    copyFileSync(join(g.dataDir, 'moat.db'), join(other, 'moat.db'));
    const thief = await startGateway({ dataDir: other });
    try {
      const list = await thief.fetch('/api/v1/jobs?limit=10');
      expect(list.status).toBe(200);
      expect(list.json.jobs.length).toBeGreaterThanOrEqual(2);
      for (const j of list.json.jobs) expect(j.error).toMatchObject({ code: 'sealed_unreadable' });
      const one = await thief.fetch(`/api/v1/jobs/${list.json.jobs[0].id}`);
      expect(one.status).toBe(200);
      expect(one.json.payload).toBeNull();
      expect(one.json.result).toBeUndefined();
      expect(one.text).not.toContain('marker-');
    } finally {
      await thief.stop();
      removeDir(other);
    }
  });

  it('keeps the key in <dataDir>/keys/jobs.key, mode 0600 in a 0700 directory', () => {
    expect(modeOf(join(g.dataDir, 'keys'))).toBe(0o700);
    expect(modeOf(join(g.dataDir, 'keys', 'jobs.key'))).toBe(0o600);
    expect(modeOf(join(g.dataDir, 'moat.db'))).toBe(0o600);
    // 32 random bytes, base64.
    expect(Buffer.from(readFileSync(join(g.dataDir, 'keys', 'jobs.key'), 'utf8').trim(), 'base64')).toHaveLength(32);
  });
});
