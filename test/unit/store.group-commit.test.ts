/** Group commit over a real SQLite file: writes of one turn share a commit, each fails alone, none is acknowledged before COMMIT. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/store/sqlite/group-commit.js';
import { tmpDir } from '../helpers/gateway.js';

function open() {
  const path = join(tmpDir('moat-gc-'), 'x.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  return { db, path };
}

describe('groupCommit', () => {
  it('commits the writes of one turn together, and each promise settles after the commit', async () => {
    const { db, path } = open();
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    const gc = groupCommit(db, (k: string) => void insert.run(k));
    const other = new Database(path, { readonly: true });
    const seenByOthers: number[] = [];
    const done = ['a', 'b', 'c'].map((k) =>
      gc.add(k).then(() => {
        // Another connection sees the row: it is committed, not just written.
        seenByOthers.push((other.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n);
      }),
    );
    // Nothing is written before the turn ends.
    expect((other.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(0);
    await Promise.all(done);
    expect(seenByOthers).toEqual([3, 3, 3]);
    other.close();
    db.close();
  });

  it('resolves each write with what its write returned, after the commit', async () => {
    const { db } = open();
    const insert = db.prepare('INSERT OR IGNORE INTO t (k) VALUES (?)');
    const gc = groupCommit(db, (k: string) => insert.run(k).changes > 0);
    // The second 'a' of the batch finds the first one: false, and nothing fails.
    expect(await Promise.all(['a', 'b', 'a'].map((k) => gc.add(k)))).toEqual([true, true, false]);
    db.close();
  });

  it('rejects only the write that failed; the others are committed', async () => {
    const { db } = open();
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    db.prepare("INSERT INTO t (k) VALUES ('taken')").run();
    const gc = groupCommit(db, (k: string) => void insert.run(k));
    const results = await Promise.allSettled(['x', 'taken', 'y'].map((k) => gc.add(k)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/UNIQUE/);
    expect(db.prepare('SELECT k FROM t ORDER BY k').all()).toEqual([{ k: 'taken' }, { k: 'x' }, { k: 'y' }]);
    db.close();
  });

  it('undoes every statement of a failed write (its savepoint), not only the last', async () => {
    const { db } = open();
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    const gc = groupCommit(db, (ks: string[]) => {
      for (const k of ks) insert.run(k);
    });
    const results = await Promise.allSettled([gc.add(['p', 'q']), gc.add(['r', 'p']), gc.add(['s'])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // 'r' was written by the failed write before its conflict: rolled back with it.
    expect(db.prepare('SELECT k FROM t ORDER BY k').all()).toEqual([{ k: 'p' }, { k: 'q' }, { k: 's' }]);
    db.close();
  });

  it('rejects the whole batch when the commit itself fails', async () => {
    const { db } = open();
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    const gc = groupCommit(db, (k: string) => void insert.run(k));
    const batch = [gc.add('m'), gc.add('n')];
    db.close(); // the connection is gone by the time the batch commits
    const results = await Promise.allSettled(batch);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
