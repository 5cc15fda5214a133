/** How tasks and their events look to clients, and which state changes a task allows. Plain data only. */
import type { TaskEventRecord, TaskRecord } from '../../store/types.js';
import type { TaskState } from '../../api/tasks.js';
import type { Actor } from '../../api/actor.js';

/** Who acts through a signed link: the holder of the link, not a principal. */
export const LINK_ACTOR: Actor = { id: 'action-link', name: 'signed action link' };

/** A principal reviewing a task (or minting its links), with the authority the route saw it hold. */
export interface Reviewer extends Actor {
  /** Holds the scope that submitting the task's job needs (`jobs`, or admin). */
  maySubmitJobs: boolean;
}

export interface TaskContent {
  title: string;
  body: string | null;
}

export interface PendingJob {
  service: string;
  payload: unknown;
}

export interface TaskView {
  id: string;
  title: string;
  body?: string | null;
  state: TaskState;
  version: number;
  source: string;
  job: { service: string; id: string | null; payload?: unknown } | null;
  createdBy: { id: string | null; name: string | null };
  reviewedBy: { id: string; name: string | null } | null;
  reviewedAt: string | null;
  createdAt: string;
  updatedAt: string;
  comments?: CommentView[];
}

export interface CommentView {
  seq: number;
  at: string;
  by: { id: string | null; name: string | null };
  text: string;
}

export interface TaskEventView {
  seq: number;
  type: string;
  at: string;
  actor: { id: string | null; name: string | null } | null;
  detail: Record<string, unknown> | null;
  text?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function taskView(t: TaskRecord, content: TaskContent, pending: PendingJob | null, full: boolean): TaskView {
  const view: TaskView = {
    id: t.id,
    title: content.title,
    state: t.state,
    version: t.version,
    source: t.source,
    job: t.pendingService === null ? null : { service: t.pendingService, id: t.jobId },
    createdBy: { id: t.createdBy, name: t.createdByName },
    reviewedBy: t.reviewedBy === null ? null : { id: t.reviewedBy, name: t.reviewedByName },
    reviewedAt: t.reviewedAt === null ? null : iso(t.reviewedAt),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
  if (full) {
    view.body = content.body;
    if (view.job && pending) view.job.payload = pending.payload;
  }
  return view;
}

export function eventView(e: TaskEventRecord, text: string | null): TaskEventView {
  return {
    seq: e.seq,
    type: e.type,
    at: iso(e.at),
    actor: e.actorId === null && e.actorName === null ? null : { id: e.actorId, name: e.actorName },
    detail: e.detail,
    ...(text === null ? {} : { text }),
  };
}

/** State changes through PATCH; reviews (pending_approval -> approved|rejected) go through review. */
export const PATCH_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  open: ['done', 'canceled'],
  pending_approval: ['canceled'],
  approved: ['done', 'canceled'],
  rejected: [],
  done: [],
  canceled: [],
};

/** States in which title and body may still be edited. */
export const EDITABLE: ReadonlySet<TaskState> = new Set(['open', 'pending_approval', 'approved']);
