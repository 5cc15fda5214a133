/**
 * Schema migrations from outside: a data dir written by an earlier version (the database at an
 * older user_version, with rows in the old shapes) boots, and what it held is served in the new one;
 * one written by a newer version (a schema this code does not know) is refused and left untouched.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

/** A moat.db as the version with `applied` migrations left it. */
function olderDatabase(dataDir: string, applied: number, seed: (db: Database.Database) => void): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, 'moat.db'));
  db.pragma('journal_mode = WAL');
  for (const sql of MIGRATIONS.slice(0, applied)) db.exec(sql);
  db.pragma(`user_version = ${applied}`);
  seed(db);
  db.close();
}

describe('006: a service registered with idleStopAfterMs', () => {
  it('is still registered after the upgrade, its idle stop now idleStopAfter in seconds', async () => {
    const dataDir = join(tmpDir(), 'state');
    olderDatabase(dataDir, 5, (db) => {
      const spec = { name: 'old-api', kind: 'url', baseUrl: 'http://127.0.0.1:9', health: { path: '/health' }, idleStopAfterMs: 600_000, autoStart: false };
      db.prepare('INSERT INTO services (name, spec, created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?)').run(
        'old-api',
        JSON.stringify(spec),
        1,
        1,
        'admin',
      );
    });
    g = await startGateway({ dataDir });
    const res = await g.fetch('/api/v1/services/old-api');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ name: 'old-api', idleStopAfter: 600 });
    expect(res.text).not.toContain('idleStopAfterMs');
    // And it can be changed and deleted like any service registered through the API.
    expect((await g.fetch('/api/v1/services/old-api', { method: 'PATCH', body: { idleStopAfter: 60 } })).json).toMatchObject({ idleStopAfter: 60 });
    expect((await g.fetch('/api/v1/services/old-api', { method: 'DELETE' })).status).toBeLessThan(300);
  });
});

describe('007: jobs get an owner', () => {
  it("gives each older job to the token that submitted it, a schedule's to whoever added the schedule, a hook's to nobody", async () => {
    const dataDir = join(tmpDir(), 'state');
    const now = Date.now();
    olderDatabase(dataDir, 6, (db) => {
      db.prepare('INSERT INTO schedules (name, cron, service, payload, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)').run(
        'nightly',
        '0 3 * * *',
        'gone',
        Buffer.from('x'),
        now,
        'tok_scheduler',
      );
      const job = db.prepare(
        `INSERT INTO jobs (id, seq, service, state, max_attempts, timeout_seconds, payload, created_by, created_by_name, created_at, updated_at, finished_at)
         VALUES (?, ?, 'gone', 'succeeded', 1, 60, ?, ?, ?, ?, ?, ?)`,
      );
      const rows: Array<[string, string | null]> = [
        ['job_api', 'tok_alice'],
        ['job_admin', 'admin'],
        ['job_hook', 'hook:gh'],
        ['job_sched', 'schedule:nightly'],
        ['job_orphan_sched', 'schedule:deleted'],
        ['job_link', 'action-link'],
        ['job_none', null],
      ];
      for (const [i, [id, by]] of rows.entries()) job.run(id, i + 1, Buffer.from('x'), by, by, now, now, now);
    });
    g = await startGateway({ dataDir });
    await g.stop();
    g = null;
    const db = new Database(join(dataDir, 'moat.db'), { readonly: true });
    const owners = Object.fromEntries(
      (db.prepare('SELECT id, owner FROM jobs ORDER BY seq').all() as Array<{ id: string; owner: string | null }>).map((r) => [r.id, r.owner]),
    );
    db.close();
    expect(owners).toEqual({
      job_api: 'tok_alice',
      job_admin: 'admin',
      job_hook: null,
      job_sched: 'tok_scheduler',
      job_orphan_sched: null,
      job_link: null,
      job_none: null,
    });
  });
});

describe('a database written by a newer moat', () => {
  /** A moat.db one migration (or many) past this code, with a table this code knows nothing of. */
  function newerDatabase(dataDir: string, version: number): void {
    olderDatabase(dataDir, MIGRATIONS.length, (db) => {
      db.exec('CREATE TABLE from_the_future (id INTEGER PRIMARY KEY, meaning TEXT NOT NULL)');
      db.prepare('INSERT INTO from_the_future (meaning) VALUES (?)').run('only the newer moat knows this');
      db.pragma(`user_version = ${version}`);
    });
  }

  it.each([MIGRATIONS.length + 1, MIGRATIONS.length + 40])(
    'refuses schema version %i: moat serve exits 78 with one line naming the versions, and leaves the file as it was',
    async (version) => {
      const dataDir = join(tmpDir(), 'state');
      newerDatabase(dataDir, version);
      const res = await runCli(['serve', '--data-dir', dataDir, '--port', '0']);
      expect(res.code, res.stderr).toBe(78);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `moat: ${join(dataDir, 'moat.db')} has schema version ${version}, written by a newer moat; this moat knows schema versions up to ${MIGRATIONS.length}: run the newer moat, or restore a backup of the data dir taken before the upgrade`,
      );
      expect(res.stdout).not.toMatch(/listening/);
      const db = new Database(join(dataDir, 'moat.db'), { readonly: true });
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(version);
        expect(db.prepare('SELECT meaning FROM from_the_future').all()).toEqual([{ meaning: 'only the newer moat knows this' }]);
      } finally {
        db.close();
      }
    },
  );

  it('refuses it in process too, with config_invalid, and boots once the schema is one it knows', async () => {
    const dataDir = join(tmpDir(), 'state');
    newerDatabase(dataDir, MIGRATIONS.length + 1);
    await expect(startGateway({ dataDir })).rejects.toMatchObject({
      code: 'config_invalid',
      detail: expect.stringContaining(`schema version ${MIGRATIONS.length + 1}`),
    });
    const db = new Database(join(dataDir, 'moat.db'));
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    db.close();
    g = await startGateway({ dataDir });
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
  });
});
