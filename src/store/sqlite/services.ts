/** SQLite implementation of ServiceStore. Parameterized statements, prepared once. */
import type { ServiceRow, ServiceStore } from '../types.js';
import type { Db } from './database.js';

interface Row {
  name: string;
  spec: string;
  created_at: number;
  updated_at: number;
  created_by: string | null;
}

const toRow = (r: Row): ServiceRow => ({
  name: r.name,
  spec: JSON.parse(r.spec) as unknown,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  createdBy: r.created_by,
});

export function sqliteServiceStore(db: Db): ServiceStore {
  const all = db.prepare<[], Row>('SELECT * FROM services ORDER BY name');
  const one = db.prepare<[string], Row>('SELECT * FROM services WHERE name = ?');
  const insert = db.prepare(
    `INSERT INTO services (name, spec, created_at, updated_at, created_by) VALUES (@name, @spec, @createdAt, @updatedAt, @createdBy)
     ON CONFLICT (name) DO NOTHING`,
  );
  const update = db.prepare('UPDATE services SET spec = ?, updated_at = ? WHERE name = ?');
  const remove = db.prepare('DELETE FROM services WHERE name = ?');
  return {
    list: () => all.all().map(toRow),
    get: (name) => {
      const r = one.get(name);
      return r ? toRow(r) : undefined;
    },
    insert: (r) => insert.run({ ...r, spec: JSON.stringify(r.spec) }).changes > 0,
    update: (name, spec, at) => update.run(JSON.stringify(spec), at, name).changes > 0,
    delete: (name) => remove.run(name).changes > 0,
  };
}
