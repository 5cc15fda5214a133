/**
 * Opens the SQLite database (WAL, foreign keys, busy timeout), applies migrations in one
 * transaction each, refuses a database whose schema is newer than this code, and keeps the file
 * mode 0600. Every statement elsewhere is parameterized.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { GatewayError } from '../../errors.js';
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
  try {
    // Before anything writes to it (journal_mode writes the header): an older binary must not touch a newer schema.
    refuseNewerSchema(db, opts.path);
  } catch (err) {
    db.close();
    throw err;
  }
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

/**
 * A database migrated by a newer moat (user_version past the migrations this code has) is refused:
 * an older binary would read and write tables whose meaning it does not know (a downgrade loses or
 * corrupts what the newer one stored). Exit 78 with one line naming the versions.
 */
export function refuseNewerSchema(db: Db, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current <= MIGRATIONS.length) return;
  throw new GatewayError(
    'config_invalid',
    `${path} has schema version ${current}, written by a newer moat; this moat knows schema versions up to ${MIGRATIONS.length}: run the newer moat, or restore a backup of the data dir taken before the upgrade`,
  );
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) refuseNewerSchema(db, db.name);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * Runs `write` without a sync of its own (synchronous=NORMAL for its commit): for state a crash may
 * lose because recovery redoes it (a claim, a job marked running, progress), never for anything
 * acknowledged. Inside a transaction (where the level cannot change) it follows the transaction's. The WAL is append-only, so the next synced commit puts these
 * writes on disk too, in order. better-sqlite3 is synchronous: nothing else commits in between.
 */
export function withoutSync<T>(db: Db, write: () => T): T {
  if (db.inTransaction) return write();
  const level = db.pragma('synchronous', { simple: true }) as number;
  if (level <= 1) return write();
  db.pragma('synchronous = NORMAL');
  try {
    return write();
  } finally {
    db.pragma(`synchronous = ${level}`);
  }
}
