/**
 * Tasks: work a person looks at, comments on, and approves or rejects. A task may hold a pending
 * job (sealed at rest) that is submitted through the job queue only once approved, exactly once
 * (an idempotency key derived from the task). Approving is submitting: it takes the scope that
 * submitting the job takes, and (unless tasks.allowSelfReview) a principal other than the task's
 * creator, so a `tasks` token can ask for work but not run it. Every change is in the task's event
 * log and on the event bus (family `tasks`); reviews are audited. Never sees a request.
 */
import { createHash } from 'node:crypto';
import type { AuditSink } from '../../audit/event.js';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import { sealJson, unsealJson } from '../../crypto/seal.js';
import { randomId } from '../../crypto/tokens.js';
import type { TaskRecord, TaskStore } from '../../store/types.js';
import type { TaskState } from '../../api/tasks.js';
import type { EventBus, MoatEvent } from '../events/bus.js';
import type { JobService } from '../jobs/queue.js';
import {
  EDITABLE,
  LINK_ACTOR,
  PATCH_TRANSITIONS,
  eventView,
  taskView,
  type CommentView,
  type PendingJob,
  type Reviewer,
  type TaskContent,
  type TaskEventView,
  type TaskView,
} from './views.js';
import type { Actor } from '../../api/actor.js';

export interface TaskInput {
  title: string;
  body?: string | undefined;
  job?: { service: string; payload?: unknown } | undefined;
}

export interface ReviewOptions {
  comment?: string | undefined;
  /** A signed link acting: its nonce is recorded (single use) and its version must still be current. */
  link?: { nonce: string; stateVersion: number; expiresAt: number } | undefined;
  /**
   * The version the reviewer saw (the console sends it): a task changed since (edited, commented,
   * its job swapped) is refused with conflict, so nobody approves what they did not read.
   */
  version?: number | undefined;
  client?: string | undefined;
  requestId?: string | undefined;
}

export interface TaskServiceOptions {
  store: TaskStore;
  /** Per-install key sealing task text and pending jobs. */
  key: Buffer;
  jobs: Pick<JobService, 'submit'>;
  serviceExists(name: string): boolean;
  /** tasks.allowSelfReview: the creator of a task may approve it (and mint its links). */
  allowSelfReview: () => boolean;
  events: EventBus;
  audit: AuditSink;
  log: Logger;
  now?: () => number;
}

const FINISHED_JOB = new Set(['succeeded', 'failed', 'canceled']);
/** Thrown inside a transaction to roll it back when a delivery turns out to be a duplicate. */
const DUPLICATE = Symbol('duplicate');

/** A UUID (version 8, RFC 9562) derived from `text`: the same text gives the same Idempotency-Key. */
export function derivedKey(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${'89ab'[Number.parseInt(h[16] as string, 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class TaskService {
  private readonly now: () => number;
  private seq = 0;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TaskServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Re-submits the job of tasks approved just before a crash, follows job outcomes, purges old link uses. */
  async start(): Promise<void> {
    this.seq = this.opts.store.maxSeq();
    this.unsubscribe = this.opts.events.subscribe((e) => this.onJobEvent(e));
    for (const t of this.opts.store.approvedWithoutJob()) await this.submitPending(t);
    const purge = () => this.opts.store.purgeLinks(this.now());
    purge();
    this.timer = setInterval(purge, 3_600_000);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private content(t: TaskRecord): TaskContent {
    return unsealJson<TaskContent>(this.opts.key, t.content, `task:${t.id}:content`);
  }

  private pending(t: TaskRecord): PendingJob | null {
    return t.pendingJob === null ? null : unsealJson<PendingJob>(this.opts.key, t.pendingJob, `task:${t.id}:job`);
  }

  private require(id: string): TaskRecord {
    const t = this.opts.store.get(id);
    if (!t) throw new GatewayError('task_not_found', `no task ${JSON.stringify(id)}`);
    return t;
  }

  private view(t: TaskRecord, full: boolean): TaskView {
    const v = taskView(t, this.content(t), full ? this.pending(t) : null, full);
    if (full) v.comments = this.comments(t.id);
    return v;
  }

  /**
   * Creates a task: `pending_approval` when it holds a job, else `open`. `claim`, run in the same
   * transaction, may refuse it (a duplicate delivery): then nothing is written and null is returned.
   */
  create(input: TaskInput, by: Actor, source: string, claim?: (taskId: string) => boolean): TaskView | null {
    if (input.job && !this.opts.serviceExists(input.job.service))
      throw new GatewayError('service_not_found', `no service named ${JSON.stringify(input.job.service)}`);
    const now = this.now();
    const id = randomId('task');
    const state: TaskState = input.job ? 'pending_approval' : 'open';
    const task: TaskRecord = {
      id,
      seq: ++this.seq,
      content: sealJson(this.opts.key, { title: input.title, body: input.body ?? null }, `task:${id}:content`),
      state,
      version: 1,
      pendingJob: input.job ? sealJson(this.opts.key, { service: input.job.service, payload: input.job.payload ?? null }, `task:${id}:job`) : null,
      pendingService: input.job?.service ?? null,
      jobId: null,
      source,
      createdBy: by.id,
      createdByName: by.name,
      reviewedBy: null,
      reviewedByName: null,
      reviewedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      this.opts.store.atomically(() => {
        this.opts.store.insert(task);
        this.opts.store.appendEvent({
          taskId: id,
          type: 'created',
          at: now,
          actorId: by.id,
          actorName: by.name,
          detail: { state, source, ...(task.pendingService ? { service: task.pendingService } : {}) },
          text: null,
        });
        if (claim && !claim(id)) throw DUPLICATE;
      });
    } catch (err) {
      if (err === DUPLICATE) return null;
      throw err;
    }
    this.opts.events.publish('task.created', 'tasks', { id, state, source });
    return this.view(task, true);
  }

  get(id: string): TaskView {
    return this.view(this.require(id), true);
  }

  list(filter: { state?: TaskState | undefined; limit: number; cursor?: string | undefined }): { tasks: TaskView[]; next: string | null } {
    const beforeSeq = filter.cursor === undefined ? undefined : Number.parseInt(filter.cursor, 36);
    if (beforeSeq !== undefined && !Number.isFinite(beforeSeq)) throw new GatewayError('validation_failed', 'cursor is not one this API gave out');
    const rows = this.opts.store.list({ state: filter.state, limit: filter.limit, beforeSeq });
    const last = rows[rows.length - 1];
    return { tasks: rows.map((r) => this.view(r, false)), next: rows.length === filter.limit && last ? last.seq.toString(36) : null };
  }

  /** Edits title/body or moves the state (PATCH_TRANSITIONS); every change makes earlier action links stale. */
  update(id: string, patch: { title?: string | undefined; body?: string | null | undefined; state?: TaskState | undefined }, by: Actor): TaskView {
    const t = this.require(id);
    const fields: string[] = [];
    const changes: Parameters<TaskStore['update']>[2] = {};
    if (patch.state !== undefined && patch.state !== t.state) {
      const allowed = PATCH_TRANSITIONS[t.state];
      if (!allowed.includes(patch.state)) {
        throw new GatewayError(
          'task_state_invalid',
          `a ${t.state} task cannot become ${patch.state}${t.state === 'pending_approval' ? ' (review it instead)' : ''}`,
          { extra: { state: t.state, allowed } },
        );
      }
      changes.state = patch.state;
      fields.push('state');
    }
    if (patch.title !== undefined || patch.body !== undefined) {
      if (!EDITABLE.has(t.state))
        throw new GatewayError('task_state_invalid', `a ${t.state} task cannot be edited`, { extra: { state: t.state, allowed: [] } });
      const c = this.content(t);
      changes.content = sealJson(this.opts.key, { title: patch.title ?? c.title, body: patch.body === undefined ? c.body : patch.body }, `task:${id}:content`);
      if (patch.title !== undefined) fields.push('title');
      if (patch.body !== undefined) fields.push('body');
    }
    if (fields.length === 0) return this.view(t, true);
    const now = this.now();
    this.opts.store.atomically(() => {
      if (!this.opts.store.update(id, t.version, changes, true, now)) throw new GatewayError('conflict', `task ${id} changed meanwhile; read it again`);
      this.opts.store.appendEvent({
        taskId: id,
        type: 'updated',
        at: now,
        actorId: by.id,
        actorName: by.name,
        detail: { fields, ...(changes.state ? { from: t.state, to: changes.state } : {}) },
        text: null,
      });
    });
    this.opts.events.publish('task.updated', 'tasks', { id, fields, state: changes.state ?? t.state });
    return this.get(id);
  }

  delete(id: string): void {
    if (!this.opts.store.delete(id)) throw new GatewayError('task_not_found', `no task ${JSON.stringify(id)}`);
    this.opts.events.publish('task.deleted', 'tasks', { id });
  }

  comment(id: string, text: string, by: Actor): CommentView {
    this.require(id);
    const at = this.now();
    const seq = this.opts.store.appendEvent({ taskId: id, type: 'comment', at, actorId: by.id, actorName: by.name, detail: null, text: null }, (s) =>
      sealJson(this.opts.key, text, `task:${id}:event:${s}`),
    );
    this.opts.events.publish('task.commented', 'tasks', { id, seq });
    return { seq, at: new Date(at).toISOString(), by: { id: by.id, name: by.name }, text };
  }

  private comments(id: string): CommentView[] {
    return this.events(id)
      .filter((e) => e.type === 'comment')
      .map((e) => ({ seq: e.seq, at: e.at, by: { id: e.actor?.id ?? null, name: e.actor?.name ?? null }, text: e.text ?? '' }));
  }

  events(id: string): TaskEventView[] {
    this.require(id);
    return this.opts.store.events(id).map((e) => eventView(e, e.text === null ? null : unsealJson<string>(this.opts.key, e.text, `task:${id}:event:${e.seq}`)));
  }

  /**
   * Whether `by` may approve `t` (or mint the links that approve it). Privilege escalation through
   * a review: approving a task that holds a job submits that job, so it takes the scope submitting
   * takes (else a `tasks` token could queue work for any service by approving its own request);
   * and the approver is not the creator unless tasks.allowSelfReview (else the approval asked for
   * is no approval). Throws scope_required or self_review.
   */
  checkApprover(t: TaskRecord, by: Reviewer): void {
    if (t.pendingJob === null) return;
    if (!by.maySubmitJobs)
      throw new GatewayError('scope_required', 'approving a task that holds a job submits it: this needs scope jobs', { extra: { scope: 'jobs' } });
    if (t.createdBy !== null && t.createdBy === by.id && !this.opts.allowSelfReview()) {
      throw new GatewayError('self_review', 'a task holding a job is approved by someone other than its creator (tasks.allowSelfReview)');
    }
  }

  /**
   * Approves or rejects a pending_approval task; an approved task's job is then submitted. Through
   * the API `by` is a Reviewer (checked by checkApprover); through a signed link, the minter was.
   */
  async review(id: string, decision: 'approve' | 'reject', by: Reviewer | Actor, o: ReviewOptions = {}): Promise<TaskView> {
    const now = this.now();
    const store = this.opts.store;
    const reviewed = store.atomically(() => {
      // Single use first: a used link is link_used whatever happened to the task since.
      if (o.link && !store.useLink(o.link.nonce, id, decision, now, o.link.expiresAt)) throw new GatewayError('link_used', 'this link was used already');
      const t = this.require(id);
      if (!o.link && decision === 'approve') this.checkApprover(t, { maySubmitJobs: false, ...by });
      if (o.link && t.version !== o.link.stateVersion) throw new GatewayError('link_stale', 'the task changed after this link was made; ask for a new one');
      if (o.version !== undefined && t.version !== o.version) {
        throw new GatewayError('conflict', `task ${id} changed since version ${o.version} (now ${t.version}); read it again before reviewing`, {
          extra: { version: t.version },
        });
      }
      if (t.state !== 'pending_approval')
        throw new GatewayError('task_state_invalid', `the task is ${t.state}; only a pending_approval task can be reviewed`, {
          extra: { state: t.state, allowed: [] },
        });
      const state: TaskState = decision === 'approve' ? 'approved' : 'rejected';
      if (!store.update(id, t.version, { state, reviewedBy: by.id, reviewedByName: by.name, reviewedAt: now }, true, now))
        throw new GatewayError('conflict', `task ${id} changed meanwhile`);
      store.appendEvent({
        taskId: id,
        type: 'reviewed',
        at: now,
        actorId: by.id,
        actorName: by.name,
        detail: { decision, via: o.link ? 'link' : 'api' },
        text: null,
      });
      if (o.comment)
        store.appendEvent({ taskId: id, type: 'comment', at: now, actorId: by.id, actorName: by.name, detail: null, text: null }, (s) =>
          sealJson(this.opts.key, o.comment as string, `task:${id}:event:${s}`),
        );
      return this.require(id);
    });
    this.opts.audit.record({
      type: 'task.review',
      outcome: 'ok',
      actor: by,
      client: o.client,
      requestId: o.requestId,
      detail: { task: id, decision, via: o.link ? 'link' : 'api', ...(reviewed.pendingService ? { service: reviewed.pendingService } : {}) },
    });
    this.opts.events.publish('task.reviewed', 'tasks', { id, decision, state: reviewed.state });
    if (reviewed.state === 'approved' && reviewed.pendingJob !== null) await this.submitPending(reviewed);
    return this.get(id);
  }

  /** Submits an approved task's job once (the key is derived from the task; a retry is a replay). */
  private async submitPending(t: TaskRecord): Promise<void> {
    const pending = this.pending(t);
    if (!pending) return;
    // The job is its approver's (its payload and result); one approved through a signed link
    // belongs to no principal (the link's holder is none): admin and jobs:all see it.
    const owner = t.reviewedBy === null || t.reviewedBy === LINK_ACTOR.id ? null : t.reviewedBy;
    const by = { id: t.reviewedBy ?? 'task', name: t.reviewedByName ?? 'task approval', owner };
    try {
      const { job } = await this.opts.jobs.submit({ service: pending.service, payload: pending.payload }, by, derivedKey(`task:${t.id}:job`));
      const now = this.now();
      // Read and write with nothing in between (synchronous): the version read is the current one.
      const cur = this.opts.store.get(t.id);
      if (cur) this.opts.store.update(t.id, cur.version, { jobId: job.id }, false, now);
      this.opts.store.appendEvent({
        taskId: t.id,
        type: 'job.submitted',
        at: now,
        actorId: by.id,
        actorName: by.name,
        detail: { job: job.id, service: pending.service },
        text: null,
      });
      this.opts.events.publish('task.job_submitted', 'tasks', { id: t.id, job: job.id, service: pending.service });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'internal';
      this.opts.log.warn({ task: t.id, service: pending.service, code }, 'the job of an approved task could not be submitted');
      this.opts.store.appendEvent({
        taskId: t.id,
        type: 'job.submit_failed',
        at: this.now(),
        actorId: null,
        actorName: null,
        detail: { service: pending.service, code },
        text: null,
      });
      this.opts.audit.record({ type: 'task.job_submit', outcome: 'error', detail: { task: t.id, service: pending.service, code } });
    }
  }

  /** A task's job finished: noted in its log; success completes an approved task. */
  private onJobEvent(e: MoatEvent): void {
    if (e.family !== 'jobs' || !FINISHED_JOB.has(String(e.data['state'])) || typeof e.data['id'] !== 'string' || !e.type.startsWith('job.')) return;
    const t = this.opts.store.byJob(e.data['id']);
    if (!t) return;
    const state = String(e.data['state']);
    const now = this.now();
    this.opts.store.appendEvent({ taskId: t.id, type: 'job.finished', at: now, actorId: null, actorName: null, detail: { job: t.jobId, state }, text: null });
    if (state === 'succeeded' && t.state === 'approved' && this.opts.store.update(t.id, t.version, { state: 'done' }, true, now)) {
      this.opts.events.publish('task.updated', 'tasks', { id: t.id, fields: ['state'], state: 'done' });
    }
  }
}
