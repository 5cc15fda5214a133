/** SQLite implementation of ScheduleStore. */
import type { ScheduleRecord, ScheduleStore } from '../types.js';
import type { Db } from './database.js';

interface Row {
  name: string;
  cron: string;
  timezone: string | null;
  service: string;
  payload: Buffer;
  missed: 'run-once' | 'skip' | null;
  paused: number;
  last_run_at: number | null;
  created_at: number;
  created_by: string | null;
}

const toRecord = (r: Row): ScheduleRecord => ({
  name: r.name,
  cron: r.cron,
  timezone: r.timezone,
  service: r.service,
  payload: r.payload,
  missed: r.missed,
  paused: r.paused === 1,
  lastRunAt: r.last_run_at,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export function sqliteScheduleStore(db: Db): ScheduleStore {
  const insert = db.prepare(
    'INSERT INTO schedules (name, cron, timezone, service, payload, missed, paused, last_run_at, created_at, created_by) VALUES (@name, @cron, @timezone, @service, @payload, @missed, @paused, @lastRunAt, @createdAt, @createdBy)',
  );
  const one = db.prepare<[string], Row>('SELECT * FROM schedules WHERE name = ?');
  const all = db.prepare<[], Row>('SELECT * FROM schedules ORDER BY name');
  const paused = db.prepare('UPDATE schedules SET paused = ? WHERE name = ?');
  const lastRun = db.prepare('UPDATE schedules SET last_run_at = ? WHERE name = ?');
  const del = db.prepare('DELETE FROM schedules WHERE name = ?');
  return {
    insert: (s) => void insert.run({ ...s, paused: s.paused ? 1 : 0 }),
    get: (name) => {
      const r = one.get(name);
      return r ? toRecord(r) : undefined;
    },
    list: () => all.all().map(toRecord),
    setPaused: (name, p) => paused.run(p ? 1 : 0, name).changes > 0,
    setLastRun: (name, at) => void lastRun.run(at, name),
    delete: (name) => del.run(name).changes > 0,
  };
}
