/**
 * "Nothing acknowledged is ever lost", also when the machine loses power: the gateway's database
 * is in WAL mode with synchronous=FULL, so every COMMIT (a job's, before its 202) is synced to disk.
 * (synchronous is a property of the connection: only the gateway's own connection can tell.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

describe('the gateway database', () => {
  it('opens in WAL mode with synchronous=FULL (each commit synced, not only at checkpoints)', async () => {
    g = await startGateway();
    const db = (g.gw as unknown as { db: { pragma(p: string, o: { simple: true }): unknown } }).db;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });
});
