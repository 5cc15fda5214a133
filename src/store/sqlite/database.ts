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
  /** `normal` is durable across process crashes in WAL mode; `full` also across power loss. */
  synchronous?: 'normal' | 'full';
}

export function openDatabase(opts: OpenOptions): Db {
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
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
