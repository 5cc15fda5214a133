/** SQLite implementation of TaskStore: tasks, their event log, used action links. Updates are compare-and-set on the version. */
import type { TaskChanges, TaskEventRecord, TaskRecord, TaskStore } from '../types.js';
import type { TaskState } from '../../api/tasks.js';
import type { Db } from './database.js';

interface Row {
  id: string;
  seq: number;
  content: Buffer;
  state: TaskState;
  version: number;
  pending_job: Buffer | null;
  pending_service: string | null;
  job_id: string | null;
  source: string;
  created_by: string | null;
  created_by_name: string | null;
  reviewed_by: string | null;
  reviewed_by_name: string | null;
  reviewed_at: number | null;
  created_at: number;
  updated_at: number;
}

interface EventRow {
  task_id: string;
  seq: number;
  type: string;
  at: number;
  actor_id: string | null;
  actor_name: string | null;
  detail: string | null;
  text: Buffer | null;
}

const toTask = (r: Row): TaskRecord => ({
  id: r.id,
  seq: r.seq,
  content: r.content,
  state: r.state,
  version: r.version,
  pendingJob: r.pending_job,
  pendingService: r.pending_service,
  jobId: r.job_id,
  source: r.source,
  createdBy: r.created_by,
  createdByName: r.created_by_name,
  reviewedBy: r.reviewed_by,
  reviewedByName: r.reviewed_by_name,
  reviewedAt: r.reviewed_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toEvent = (r: EventRow): TaskEventRecord => ({
  taskId: r.task_id,
  seq: r.seq,
  type: r.type,
  at: r.at,
  actorId: r.actor_id,
  actorName: r.actor_name,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  text: r.text,
});

/** Columns update() may set, by field name (a fixed list: no client string reaches the SQL). */
const COLUMNS: Record<keyof TaskChanges, string> = {
  content: 'content',
  state: 'state',
  pendingJob: 'pending_job',
  pendingService: 'pending_service',
  jobId: 'job_id',
  reviewedBy: 'reviewed_by',
  reviewedByName: 'reviewed_by_name',
  reviewedAt: 'reviewed_at',
};

export function sqliteTaskStore(db: Db): TaskStore {
  const insert = db.prepare(
    `INSERT INTO tasks (id, seq, content, state, version, pending_job, pending_service, job_id, source, created_by, created_by_name,
       reviewed_by, reviewed_by_name, reviewed_at, created_at, updated_at)
     VALUES (@id, @seq, @content, @state, @version, @pendingJob, @pendingService, @jobId, @source, @createdBy, @createdByName,
       @reviewedBy, @reviewedByName, @reviewedAt, @createdAt, @updatedAt)`,
  );
  const one = db.prepare<[string], Row>('SELECT * FROM tasks WHERE id = ?');
  const maxSeq = db.prepare<[], { m: number | null }>('SELECT MAX(seq) AS m FROM tasks');
  const del = db.prepare('DELETE FROM tasks WHERE id = ?');
  const byJob = db.prepare<[string], Row>('SELECT * FROM tasks WHERE job_id = ?');
  const orphans = db.prepare<[], Row>("SELECT * FROM tasks WHERE state = 'approved' AND pending_job IS NOT NULL AND job_id IS NULL ORDER BY seq");
  const nextEventSeq = db.prepare<[string], { m: number | null }>('SELECT MAX(seq) AS m FROM task_events WHERE task_id = ?');
  const insertEvent = db.prepare(
    'INSERT INTO task_events (task_id, seq, type, at, actor_id, actor_name, detail, text) VALUES (@taskId, @seq, @type, @at, @actorId, @actorName, @detail, @text)',
  );
  const events = db.prepare<[string], EventRow>('SELECT * FROM task_events WHERE task_id = ? ORDER BY seq');
  const useLink = db.prepare('INSERT OR IGNORE INTO action_link_uses (nonce, task_id, action, used_at, expires_at) VALUES (?, ?, ?, ?, ?)');
  const linkUsed = db.prepare<[string], { n: number }>('SELECT 1 AS n FROM action_link_uses WHERE nonce = ?');
  const purgeLinks = db.prepare('DELETE FROM action_link_uses WHERE expires_at < ?');
  const lists = new Map<string, ReturnType<typeof db.prepare>>();
  const updates = new Map<string, ReturnType<typeof db.prepare>>();

  function listStatement(withState: boolean, withCursor: boolean) {
    const key = `${withState}:${withCursor}`;
    let s = lists.get(key);
    if (!s) {
      const where = [withState ? 'state = @state' : '', withCursor ? 'seq < @beforeSeq' : ''].filter(Boolean);
      s = db.prepare(`SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`);
      lists.set(key, s);
    }
    return s;
  }

  const appendEvent = db.transaction((event: Omit<TaskEventRecord, 'seq'>, text?: (seq: number) => Buffer): number => {
    const seq = (nextEventSeq.get(event.taskId)?.m ?? 0) + 1;
    insertEvent.run({ ...event, seq, detail: event.detail === null ? null : JSON.stringify(event.detail), text: text ? text(seq) : event.text });
    return seq;
  });

  return {
    insert: (t) => void insert.run(t),
    get: (id) => {
      const r = one.get(id);
      return r ? toTask(r) : undefined;
    },
    list: (f) =>
      (
        listStatement(f.state !== undefined, f.beforeSeq !== undefined).all({
          limit: f.limit,
          ...(f.state !== undefined ? { state: f.state } : {}),
          ...(f.beforeSeq !== undefined ? { beforeSeq: f.beforeSeq } : {}),
        }) as Row[]
      ).map(toTask),
    maxSeq: () => maxSeq.get()?.m ?? 0,
    update: (id, expectedVersion, changes, bump, now) => {
      const fields = (Object.keys(changes) as Array<keyof TaskChanges>).filter((k) => COLUMNS[k] !== undefined).sort();
      const key = `${fields.join(',')}:${bump}`;
      let s = updates.get(key);
      if (!s) {
        const sets = [...fields.map((f) => `${COLUMNS[f]} = @${f}`), 'updated_at = @now', ...(bump ? ['version = version + 1'] : [])];
        s = db.prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE id = @id AND version = @expectedVersion`);
        updates.set(key, s);
      }
      const params: Record<string, unknown> = { id, expectedVersion, now };
      for (const f of fields) params[f] = changes[f] ?? null;
      return s.run(params).changes > 0;
    },
    appendEvent: (event, text) => appendEvent(event, text),
    events: (taskId) => events.all(taskId).map(toEvent),
    delete: (id) => del.run(id).changes > 0,
    byJob: (jobId) => {
      const r = byJob.get(jobId);
      return r ? toTask(r) : undefined;
    },
    approvedWithoutJob: () => orphans.all().map(toTask),
    useLink: (nonce, taskId, action, at, expiresAt) => useLink.run(nonce, taskId, action, at, expiresAt).changes > 0,
    isLinkUsed: (nonce) => linkUsed.get(nonce) !== undefined,
    purgeLinks: (before) => purgeLinks.run(before).changes,
    atomically: <T>(fn: () => T): T => db.transaction(fn)(),
  };
}
