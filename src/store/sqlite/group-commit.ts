/**
 * Group commit: writes that must be durable before they are acknowledged, gathered over one turn of
 * the event loop and committed together. Each write runs in its own savepoint (its failure undoes
 * only itself and rejects only its caller); every caller's promise settles after the one COMMIT, so
 * nothing is acknowledged before it is on disk. Under load one commit (one WAL append) serves many
 * writes; alone, a write waits one setImmediate.
 */
import type { Db } from './database.js';

export interface GroupCommit<T> {
  /** Queues `item`; resolves once it is committed, rejects with its own error (or the commit's). */
  add(item: T): Promise<void>;
}

export function groupCommit<T>(db: Db, write: (item: T) => void): GroupCommit<T> {
  let pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];
  // Called inside flushAll's transaction, a db.transaction is a savepoint.
  const one = db.transaction((item: T) => write(item));
  const flushAll = db.transaction((batch: typeof pending) => {
    const failed = new Map<number, unknown>();
    batch.forEach((p, i) => {
      try {
        one(p.item);
      } catch (err) {
        failed.set(i, err);
      }
    });
    return failed;
  });
  function flush(): void {
    const batch = pending;
    pending = [];
    let failed: Map<number, unknown>;
    try {
      failed = flushAll(batch);
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch was written.
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => (failed.has(i) ? p.reject(failed.get(i)) : p.resolve()));
  }
  return {
    add(item: T): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ item, resolve, reject });
      });
    },
  };
}
