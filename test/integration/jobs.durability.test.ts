/**
 * "Nothing acknowledged is ever lost", also when the machine loses power: the gateway's database
 * is in WAL mode with synchronous=FULL, so every COMMIT (a job's, before its 202) is synced to disk.
 * (synchronous is a property of the connection: only the gateway's own connection can tell.)
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, withoutSync } from '../../src/store/sqlite/database.js';
import { startJobsGateway } from '../helpers/jobs.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

describe('the gateway database', () => {
  it('opens in WAL mode with synchronous=FULL (each commit synced, not only at checkpoints)', async () => {
    g = await startGateway();
    const db = g.gw.parts.db;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });
});

describe('writes recovery redoes (claims, running marks, progress)', () => {
  it('skip their own sync and leave the connection synced for the next commit, also when they throw', () => {
    const db = openDatabase({ path: join(tmpDir(), 'moat.db') });
    try {
      let inside = -1;
      withoutSync(db, () => (inside = db.pragma('synchronous', { simple: true }) as number));
      expect(inside).toBe(1);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(() => withoutSync(db, () => db.exec('INSERT INTO no_such_table VALUES (1)'))).toThrow();
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('leave the gateway synced after jobs ran through claim, progress and finish', async () => {
    const jg = await startJobsGateway();
    g = jg;
    const job = await jg.submit({ service: 'worker', payload: { steps: 3, stepMs: 20 } });
    expect((await jg.until(job.id)).state).toBe('succeeded');
    const db = jg.gw.parts.db;
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });
});
