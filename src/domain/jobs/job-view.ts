/**
 * What a client sees of a job, and the opening of its sealed fields (payload, outcome, callback
 * URL; AES-256-GCM bound to the job id). A value sealed under another key (a database copied from
 * another install, a lost keys/jobs.key) shows as unreadable instead of failing a whole list.
 * Who sees what (HABITS 24): the job's owner, admin and `jobs:all` get the full view; everyone
 * else who may read jobs gets the summary (state, service, timings, progress), never the payload,
 * the result, the error text or where the callback goes. Pure functions over a record; the store
 * is only asked for callback attempts.
 */
import { unsealJson } from '../../crypto/seal.js';
import type { CallbackAttempt, JobRecord, JobState } from '../../store/types.js';
import { outcomeContext } from './settlement.js';

/** `full`: the job is the viewer's (or the viewer holds admin or jobs:all). `summary`: someone else's. */
export type JobAccess = 'full' | 'summary';

/** Who reads or acts on jobs: a principal id (compared with a job's owner) and whether it reaches every job. */
export interface JobViewer {
  id: string;
  /** Holds admin or jobs:all (security/scopes.ts seesAllJobs). */
  all: boolean;
}

/** Whether `viewer` may see `job`'s payload and result, and cancel or delete it. */
export function ownsOrSeesAll(job: Pick<JobRecord, 'owner'>, viewer: JobViewer): boolean {
  return viewer.all || (job.owner !== null && job.owner === viewer.id);
}

export interface JobView {
  id: string;
  access: JobAccess;
  service: string;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  progress: { value: number | null; message: string | null };
  result?: unknown;
  error?: { code: string; message: string } | null;
  payload?: unknown;
  callback?: { host: string; attempts: Array<{ attempt: number; at: string; status: number | null; error: string | null }> } | null;
  notify?: string[];
  run?: string | null;
  createdBy: { id: string | null; name: string | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const UNREADABLE = { code: 'sealed_unreadable', message: 'sealed under another install key (keys/jobs.key)' };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function readable<T, F>(open: () => T, fallback: F): T | F {
  try {
    return open();
  } catch {
    return fallback;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid)';
  }
}

export function callbackUrlOf(key: Buffer, job: JobRecord): string | null {
  return job.callback === null ? null : unsealJson<string>(key, job.callback, `job:${job.id}:callback`);
}

/** The payload for the service; throws code `sealed_unreadable` if it was sealed under another key. */
export function payloadOf(key: Buffer, job: JobRecord): unknown {
  try {
    return unsealJson(key, job.payload, `job:${job.id}:payload`);
  } catch {
    throw Object.assign(new Error(UNREADABLE.message), { code: UNREADABLE.code });
  }
}

export function outcomeOf(key: Buffer, job: JobRecord): { result?: unknown; error?: { code: string; message: string } } | null {
  return job.outcome === null ? null : unsealJson(key, job.outcome, outcomeContext(job.id));
}

/** The view of `job` at `access`; the payload only in a full single read (`withPayload`). */
export function jobView(key: Buffer, job: JobRecord, access: JobAccess, withPayload: boolean, callbacks: (jobId: string) => CallbackAttempt[]): JobView {
  const view: JobView = {
    id: job.id,
    access,
    service: job.service,
    state: job.state,
    priority: job.priority,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    timeoutSeconds: job.timeoutSeconds,
    progress: { value: job.progress, message: job.progressMessage },
    createdBy: { id: job.createdBy, name: job.createdByName },
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
  if (access === 'summary') return view;
  const outcome = readable(() => outcomeOf(key, job), { error: UNREADABLE });
  const callbackUrl = readable(() => callbackUrlOf(key, job), '(sealed)');
  // A job not final yet shows its last failed attempt (it is being retried); a final one its outcome.
  view.error = outcome?.error ?? null;
  view.callback =
    callbackUrl === null
      ? null
      : {
          host: safeHost(callbackUrl),
          attempts: callbacks(job.id).map((a) => ({ attempt: a.attempt, at: new Date(a.at).toISOString(), status: a.status, error: a.error })),
        };
  view.notify = job.notify ?? [];
  view.run = job.runId;
  if (outcome && 'result' in outcome) view.result = outcome.result;
  if (withPayload) view.payload = readable(() => payloadOf(key, job), null);
  return view;
}
