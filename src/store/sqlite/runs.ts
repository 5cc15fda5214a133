/** SQLite implementation of RunStore. Parameterized statements, prepared once. */
import type { RunRecord, RunStore } from '../types.js';
import type { Db } from './database.js';

interface RunRow {
  id: string;
  service: string | null;
  input: string | null;
  mounts: string;
  client_root: string | null;
  created_by: string;
  created_at: number;
}

const toRun = (r: RunRow): RunRecord => ({
  id: r.id,
  service: r.service,
  input: r.input,
  mounts: JSON.parse(r.mounts) as string[],
  clientRoot: r.client_root,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

export function sqliteRunStore(db: Db): RunStore {
  const insert = db.prepare(
    `INSERT INTO runs (id, service, input, mounts, client_root, created_by, created_at)
     VALUES (@id, @service, @input, @mounts, @clientRoot, @createdBy, @createdAt)`,
  );
  const one = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?');
  const all = db.prepare<[number], RunRow>('SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?');
  const mine = db.prepare<[string, number], RunRow>('SELECT * FROM runs WHERE created_by = ? ORDER BY created_at DESC, rowid DESC LIMIT ?');
  const remove = db.prepare('DELETE FROM runs WHERE id = ?');
  return {
    insert: (r) => void insert.run({ ...r, mounts: JSON.stringify(r.mounts) }),
    get: (id) => {
      const r = one.get(id);
      return r ? toRun(r) : undefined;
    },
    list: ({ createdBy, limit }) => (createdBy === undefined ? all.all(limit) : mine.all(createdBy, limit)).map(toRun),
    delete: (id) => remove.run(id).changes > 0,
  };
}
