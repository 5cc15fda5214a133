/**
 * Group commit: writes that must be durable before they are acknowledged (or announced), gathered
 * over one turn of the event loop and committed together. Each write runs in its own savepoint (its
 * failure undoes only itself and rejects only its caller); every caller's promise settles after the
 * one COMMIT (synced: synchronous=FULL), so nothing is acknowledged before it is on disk. Under load
 * one commit (one WAL append and one fsync) serves many writes; alone, a write waits one setImmediate.
 */
import type { Db } from './database.js';

export interface GroupCommit<T, R = void> {
  /** Queues `item`; resolves with what its write returned once it is committed, rejects with its own error (or the commit's). */
  add(item: T): Promise<R>;
}

interface Pending<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

export function groupCommit<T, R = void>(db: Db, write: (item: T) => R): GroupCommit<T, R> {
  let pending: Array<Pending<T, R>> = [];
  // Called inside flushAll's transaction, a db.transaction is a savepoint.
  const one = db.transaction((item: T) => write(item));
  const flushAll = db.transaction((batch: Array<Pending<T, R>>) => {
    const results: Array<{ ok: true; value: R } | { ok: false; err: unknown }> = [];
    for (const p of batch) {
      try {
        results.push({ ok: true, value: one(p.item) });
      } catch (err) {
        results.push({ ok: false, err });
      }
    }
    return results;
  });
  function flush(): void {
    const batch = pending;
    pending = [];
    let results: ReturnType<typeof flushAll>;
    try {
      results = flushAll(batch);
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch was written.
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i] as (typeof results)[number];
      if (r.ok) p.resolve(r.value);
      else p.reject(r.err);
    });
  }
  return {
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ item, resolve, reject });
      });
    },
  };
}
