/** SQLite implementation of SessionStore (console sessions, kept as hashes). Parameterized statements, prepared once. */
import type { SessionRecord, SessionStore } from '../types.js';
import type { Db } from './database.js';

interface SessionRow {
  id: string;
  hash: string;
  name: string;
  scopes: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  client: string;
}

const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  hash: r.hash,
  name: r.name,
  scopes: JSON.parse(r.scopes) as string[],
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  client: r.client,
});

export function sqliteSessionStore(db: Db): SessionStore {
  const insert = db.prepare(
    `INSERT INTO sessions (id, hash, name, scopes, created_at, last_used_at, expires_at, client)
     VALUES (@id, @hash, @name, @scopes, @createdAt, @lastUsedAt, @expiresAt, @client)`,
  );
  const all = db.prepare<[], SessionRow>('SELECT * FROM sessions ORDER BY created_at');
  const one = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?');
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE id = ?');
  const removeAll = db.prepare<[], { id: string }>('DELETE FROM sessions RETURNING id');
  const touch = db.prepare('UPDATE sessions SET last_used_at = ? WHERE id = ? AND last_used_at < ?');
  const touchMany = db.transaction((updates: ReadonlyArray<{ id: string; at: number }>) => {
    for (const u of updates) touch.run(u.at, u.id, u.at);
  });
  return {
    insert: (r) => void insert.run({ ...r, scopes: JSON.stringify(r.scopes) }),
    list: () => all.all().map(toSession),
    get: (id) => {
      const r = one.get(id);
      return r ? toSession(r) : undefined;
    },
    delete: (id) => remove.run(id).changes > 0,
    deleteAll: () => removeAll.all().map((r) => r.id),
    touchLastUsed: (updates) => touchMany(updates),
  };
}
