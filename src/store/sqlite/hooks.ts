/** SQLite implementation of HookStore: API hooks, delivery ids and randoms seen. Parameterized statements only. */
import type { HookRow, HookStore } from '../types.js';
import type { Db } from './database.js';

interface Row {
  name: string;
  verify: string;
  secret: Buffer | null;
  verify_token: Buffer | null;
  action: string;
  max_body_bytes: number | null;
  created_at: number;
  created_by: string | null;
}

const toHook = (r: Row): HookRow => ({
  name: r.name,
  verify: r.verify,
  secret: r.secret,
  verifyToken: r.verify_token,
  action: JSON.parse(r.action) as unknown,
  maxBodyBytes: r.max_body_bytes,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export function sqliteHookStore(db: Db): HookStore {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO hooks (name, verify, secret, verify_token, action, max_body_bytes, created_at, created_by)
     VALUES (@name, @verify, @secret, @verifyToken, @action, @maxBodyBytes, @createdAt, @createdBy)`,
  );
  const one = db.prepare<[string], Row>('SELECT * FROM hooks WHERE name = ?');
  const all = db.prepare<[], Row>('SELECT * FROM hooks ORDER BY name');
  const del = db.prepare('DELETE FROM hooks WHERE name = ?');
  const findDelivery = db.prepare<
    [string, string, number],
    { hook: string; delivery_id: string; received_at: number; job_id: string | null; task_id: string | null }
  >('SELECT * FROM hook_deliveries WHERE hook = ? AND delivery_id = ? AND received_at >= ?');
  // A row older than the window is replaced: the id is then new again.
  const recordDelivery = db.prepare(
    `INSERT INTO hook_deliveries (hook, delivery_id, received_at, job_id, task_id) VALUES (@hook, @deliveryId, @receivedAt, @jobId, @taskId)
     ON CONFLICT (hook, delivery_id) DO UPDATE SET received_at = excluded.received_at, job_id = excluded.job_id, task_id = excluded.task_id
     WHERE hook_deliveries.received_at < @notBefore`,
  );
  const nonce = db.prepare('INSERT OR IGNORE INTO hook_nonces (hook, nonce, seen_at) VALUES (?, ?, ?)');
  const purgeDeliveries = db.prepare('DELETE FROM hook_deliveries WHERE received_at < ?');
  const purgeNonces = db.prepare('DELETE FROM hook_nonces WHERE seen_at < ?');
  return {
    list: () => all.all().map(toHook),
    get: (name) => {
      const r = one.get(name);
      return r ? toHook(r) : undefined;
    },
    insert: (row) => insert.run({ ...row, action: JSON.stringify(row.action) }).changes > 0,
    delete: (name) => del.run(name).changes > 0,
    findDelivery: (hook, id, notBefore) => {
      const r = findDelivery.get(hook, id, notBefore);
      return r ? { hook: r.hook, deliveryId: r.delivery_id, receivedAt: r.received_at, jobId: r.job_id, taskId: r.task_id } : undefined;
    },
    recordDelivery: (d, notBefore) => recordDelivery.run({ ...d, notBefore }).changes > 0,
    rememberNonce: (hook, value, at) => nonce.run(hook, value, at).changes > 0,
    purge: (deliveriesBefore, noncesBefore) => {
      purgeDeliveries.run(deliveriesBefore);
      purgeNonces.run(noncesBefore);
    },
    atomically: <T>(fn: () => T): T => db.transaction(fn)(),
  };
}
