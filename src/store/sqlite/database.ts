/**
 * Opens the SQLite database (WAL, foreign keys, busy timeout), applies migrations in one
 * transaction each, and keeps the file mode 0600. Every statement elsewhere is parameterized.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { MIGRATIONS } from '../migrations/index.js';

export type Db = Database.Database;

export interface OpenOptions {
  path: string;
  /**
   * In WAL mode: `full` (default) syncs the WAL to disk at every COMMIT, so a committed transaction
   * survives an OS crash or a power cut; `normal` syncs only at checkpoints, so it survives a crash
   * or SIGKILL of the process but may lose the last commits when the machine goes down.
   */
  synchronous?: 'normal' | 'full';
}

export function openDatabase(opts: OpenOptions): Db {
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(opts.path + suffix)) chmodSync(opts.path + suffix, 0o600);
  }
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
