/**
 * The job queue: submission (durable before it is acknowledged, idempotent per token), reads,
 * cancel, delete, progress reports, retention. Payloads and outcomes are sealed at rest. A job has
 * an owner: only it, admin and jobs:all see its payload and result, cancel or delete it (others get
 * the summary view, job-view.ts). Dispatch lives in dispatcher.ts; this file never talks to a service.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import { GatewayError, hasCode } from '../../errors.js';
import { subkey } from '../../crypto/hmac.js';
import { sealJson } from '../../crypto/seal.js';
import { digestsEqual, randomId, tokenDigest } from '../../crypto/tokens.js';
import { FINISHED_STATES, type JobRecord, type JobState, type JobStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import { callbackUrlOf, jobView, ownsOrSeesAll, payloadOf, type JobView, type JobViewer } from './job-view.js';
import type { JobServicePort, OutboundPort } from './ports.js';

export type { JobAccess, JobView, JobViewer } from './job-view.js';

export interface SubmitInput {
  service: string;
  payload?: unknown;
  callbackUrl?: string | undefined;
  notify?: boolean | string[] | undefined;
  priority?: number | undefined;
  maxAttempts?: number | undefined;
  timeoutSeconds?: number | undefined;
  run?: string | undefined;
}

export interface Submitter {
  id: string;
  name: string;
  /** Holds scope admin (may use any run as a job's context). */
  admin?: boolean;
  /** The request that submits (an API call), for the audit of a refused callbackUrl. */
  requestId?: string;
  /**
   * The principal the job belongs to (sees its payload and result, may cancel and delete it).
   * Default: `id` (the submitting token). Null: no principal (a hook's job; admin and jobs:all only).
   */
  owner?: string | null;
  /** Reaches every job (admin, jobs:all): sees the full view of a replayed job of another owner. */
  all?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The submission as one string, object keys sorted: `{"a":1,"b":2}` and `{"b":2,"a":1}` are one body. */
function canonicalJson(input: SubmitInput): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(canonical(input));
}

/** How a keyed body hash is stored: `k1:<hex HMAC-SHA256>`. A row without the prefix predates it. */
const KEYED = 'k1:';

/**
 * The stored fingerprint of a submission, so the same Idempotency-Key with another body is caught.
 * Keyed (HMAC-SHA256 under a subkey of the per-install jobs key): with an unkeyed hash, whoever has
 * a copy of moat.db could confirm a guessed payload (a low-entropy prompt, a yes/no) offline.
 */
function bodyHash(key: Buffer, canonical: string): string {
  return KEYED + createHmac('sha256', key).update(canonical).digest('hex');
}

/**
 * Whether a stored fingerprint is that of `canonical`. Rows written before the hash was keyed hold a
 * plain SHA-256: they are still honoured (a client retrying across the upgrade gets its replay, not a
 * 409) and are gone after jobs.idempotencyHours.
 */
function sameBody(stored: string, key: Buffer, canonical: string): boolean {
  const expected = stored.startsWith(KEYED) ? bodyHash(key, canonical) : createHash('sha256').update(canonical).digest('hex');
  return digestsEqual(stored, expected);
}

export interface JobServiceOptions {
  store: JobStore;
  key: Buffer;
  events: EventBus;
  services: Pick<JobServicePort, 'concurrency'>;
  outbound: Pick<OutboundPort, 'check'>;
  config: () => Readonly<Config>;
  /** Throws run_not_found unless the run exists and the submitter may see it. */
  checkRun: (runId: string, by: { id: string; admin: boolean }) => void;
  /** Called after a job is queued, to wake the dispatcher. */
  onQueued: (service: string) => void;
  /**
   * Carries out a client's cancel (the dispatcher): a queued job (also one waiting for its retry)
   * is finished canceled at once, like every finished job (event, callback, notifications); a
   * claimed one is aborted.
   */
  onCancel: (job: JobRecord) => Promise<void>;
  now?: () => number;
}

export class JobService {
  private seq = 0;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  /** Keys the idempotency body hashes; derived, so the sealing key itself does only one thing. */
  private readonly idempotencyKey: Buffer;

  constructor(private readonly opts: JobServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.idempotencyKey = subkey(opts.key, 'jobs-idempotency');
  }

  start(): void {
    this.seq = this.opts.store.maxSeq();
    this.purge();
    this.timer = setInterval(() => this.purge(), 3_600_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private purge(): void {
    const now = this.now();
    const cfg = this.opts.config().jobs;
    this.opts.store.purgeFinished(now - cfg.retentionHours * 3_600_000);
    this.opts.store.purgeIdempotency(now - cfg.idempotencyHours * 3_600_000);
  }

  /** Queues a job; with an Idempotency-Key the same submission returns the first job (replayed). */
  async submit(input: SubmitInput, by: Submitter, idempotencyKey?: string): Promise<{ job: JobView; replayed: boolean }> {
    const cfg = this.opts.config().jobs;
    const now = this.now();
    let canonical: string | undefined;
    if (idempotencyKey !== undefined) {
      if (!UUID.test(idempotencyKey)) throw new GatewayError('validation_failed', 'Idempotency-Key must be a UUID');
      canonical = canonicalJson(input);
      const replay = this.replayed(by, idempotencyKey, canonical, now);
      if (replay) return { job: replay, replayed: true };
    }
    if (this.opts.services.concurrency(input.service) === undefined)
      throw new GatewayError('service_not_found', `no service named ${JSON.stringify(input.service)}`);
    if (input.run !== undefined) this.opts.checkRun(input.run, { id: by.id, admin: by.admin === true });
    if (input.callbackUrl !== undefined) {
      const verdict = await this.opts.outbound.check(input.callbackUrl, 'callback', {
        actor: { id: by.id, name: by.name },
        ...(by.requestId ? { requestId: by.requestId } : {}),
      });
      if (!verdict.allowed)
        throw new GatewayError('egress_denied', `callbackUrl refused: ${verdict.reason}`, { extra: { reason: verdict.reason, purpose: 'callback' } });
    }
    const notify = input.notify === true ? ['ntfy', 'webhook'] : Array.isArray(input.notify) ? [...new Set(input.notify)] : [];
    const id = randomId('job');
    const job: JobRecord = {
      id,
      seq: ++this.seq,
      service: input.service,
      state: 'queued',
      priority: input.priority ?? 0,
      attempts: 0,
      maxAttempts: input.maxAttempts ?? cfg.defaultMaxAttempts,
      timeoutSeconds: input.timeoutSeconds ?? cfg.defaultTimeoutSeconds,
      payload: sealJson(this.opts.key, input.payload ?? null, `job:${id}:payload`),
      outcome: null,
      errorCode: null,
      progress: null,
      progressMessage: null,
      callback: input.callbackUrl === undefined ? null : sealJson(this.opts.key, input.callbackUrl, `job:${id}:callback`),
      notify: notify.length > 0 ? notify : null,
      progressTokenHash: null,
      cancelRequested: false,
      runId: input.run ?? null,
      createdBy: by.id,
      createdByName: by.name,
      owner: by.owner === undefined ? by.id : by.owner,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
      nextAttemptAt: null,
    };
    const keyNotBefore = now - cfg.idempotencyHours * 3_600_000;
    try {
      await this.opts.store.insert(
        job,
        idempotencyKey === undefined || canonical === undefined
          ? undefined
          : { tokenId: by.id, key: idempotencyKey, bodyHash: bodyHash(this.idempotencyKey, canonical), jobId: id, createdAt: now, keyNotBefore },
      );
    } catch (err) {
      // Two submissions with the same key at once: the loser answers like a replay (or a conflict).
      if (idempotencyKey !== undefined && canonical !== undefined && hasCode(err, 'idempotency_conflict')) {
        const replay = this.replayed(by, idempotencyKey, canonical, now);
        if (replay) return { job: replay, replayed: true };
      }
      throw err;
    }
    this.opts.events.publish('job.queued', 'jobs', { id, service: job.service, state: 'queued' });
    this.opts.onQueued(job.service);
    return { job: this.view(job, submitterView(by), false), replayed: false };
  }

  /** Whether a service of that name is registered (schedules check it when they are added). */
  hasService(name: string): boolean {
    return this.opts.services.concurrency(name) !== undefined;
  }

  private replayed(by: Submitter, key: string, canonical: string, now: number): JobView | undefined {
    const hours = this.opts.config().jobs.idempotencyHours;
    const seen = this.opts.store.findIdempotent(by.id, key, now - hours * 3_600_000);
    if (!seen) return undefined;
    if (!sameBody(seen.bodyHash, this.idempotencyKey, canonical))
      throw new GatewayError('idempotency_conflict', 'this Idempotency-Key was used with another request body');
    const job = this.opts.store.get(seen.jobId);
    if (!job) throw new GatewayError('idempotency_conflict', 'this Idempotency-Key was used for a job that no longer exists');
    return this.view(job, submitterView(by), false);
  }

  private require(id: string): JobRecord {
    const job = this.opts.store.get(id);
    if (!job) throw new GatewayError('not_found', `no job ${JSON.stringify(id)}`);
    return job;
  }

  /** Another principal's job: the summary may be read, but acting on it needs jobs:all (or admin). */
  private requireOwned(id: string, viewer: JobViewer, verb: string): JobRecord {
    const job = this.require(id);
    if (!ownsOrSeesAll(job, viewer)) {
      throw new GatewayError('not_owner', `job ${id} belongs to another principal; to ${verb} it you need scope jobs:all`, { extra: { scope: 'jobs:all' } });
    }
    return job;
  }

  /** One job as `viewer` may see it (with its payload when full and `withPayload`). */
  get(id: string, viewer: JobViewer, withPayload = true): JobView {
    return this.view(this.require(id), viewer, withPayload);
  }

  /** Newest first; every job, each as `viewer` may see it; only the viewer's own with `mine`. */
  list(
    filter: { service?: string | undefined; state?: JobState | undefined; mine?: boolean | undefined; limit: number; cursor?: string | undefined },
    viewer: JobViewer,
  ): { jobs: JobView[]; next: string | null } {
    const beforeSeq = filter.cursor === undefined ? undefined : Number.parseInt(filter.cursor, 36);
    if (beforeSeq !== undefined && !Number.isFinite(beforeSeq)) throw new GatewayError('validation_failed', 'cursor is not one this API gave out');
    const rows = this.opts.store.list({
      service: filter.service,
      state: filter.state,
      owner: filter.mine === true ? viewer.id : undefined,
      limit: filter.limit,
      beforeSeq,
    });
    const last = rows[rows.length - 1];
    return { jobs: rows.map((r) => this.view(r, viewer, false)), next: rows.length === filter.limit && last ? last.seq.toString(36) : null };
  }

  /**
   * Cancels one of `viewer`'s jobs (any job with admin or jobs:all): 403 not_owner otherwise. A
   * queued job is canceled (durably) before this resolves; a running one is being stopped.
   */
  async cancel(id: string, viewer: JobViewer): Promise<JobView> {
    const job = this.requireOwned(id, viewer, 'cancel');
    if (FINISHED_STATES.includes(job.state)) throw new GatewayError('conflict', `job ${id} is already ${job.state}`);
    // The request is kept in the job's row first: a queued job so marked is never claimed (it
    // cannot start while its canceled state is being committed), and crash recovery cancels a job
    // whose cancel was not carried out before moat died.
    this.opts.store.requestCancel(id, this.now());
    await this.opts.onCancel(job);
    return this.get(id, viewer, false);
  }

  /** Deletes one of `viewer`'s finished jobs (any with admin or jobs:all): 403 not_owner otherwise. */
  delete(id: string, viewer: JobViewer): void {
    const job = this.requireOwned(id, viewer, 'delete');
    if (!FINISHED_STATES.includes(job.state)) throw new GatewayError('conflict', `job ${id} is ${job.state}; cancel it first`);
    this.opts.store.delete(id);
  }

  /** A new per-attempt progress token: the secret for the service, its digest for the store. */
  static progressToken(): { token: string; digest: string } {
    const token = `mjp_${randomBytes(24).toString('base64url')}`;
    return { token, digest: tokenDigest(token) };
  }

  /** Progress posted back by the service with the attempt's token. */
  reportProgress(id: string, presentedToken: string, progress: number, message: string | null): void {
    const job = this.opts.store.get(id);
    // The same answer for an unknown job and a wrong token: the route must not tell which exists.
    if (!job || job.progressTokenHash === null || !digestsEqual(job.progressTokenHash, tokenDigest(presentedToken))) {
      throw new GatewayError('token_invalid', 'unknown job or wrong progress token');
    }
    // A late report of the last attempt (sent just before its answer) is not a guess: 409, not counted.
    if (job.state !== 'running' && job.state !== 'dispatched') throw new GatewayError('conflict', `job ${id} is ${job.state}`);
    this.recordProgress(job, progress, message);
  }

  recordProgress(job: JobRecord, progress: number, message: string | null): void {
    const clamped = Math.min(1, Math.max(0, progress));
    const text = message === null ? null : message.slice(0, 500);
    if (this.opts.store.setProgress(job.id, clamped, text, this.now())) {
      this.opts.events.publish('job.progress', 'jobs', { id: job.id, service: job.service, progress: clamped, message: text });
    }
  }

  /** Unseals a job's callback URL (for the delivery); throws if it was sealed under another key. */
  callbackUrl(job: JobRecord): string | null {
    return callbackUrlOf(this.opts.key, job);
  }

  /** The payload for the service; throws code `sealed_unreadable` if it was sealed under another key. */
  payloadOf(job: JobRecord): unknown {
    return payloadOf(this.opts.key, job);
  }

  /** The view of a job for `viewer` (job-view.ts): full for its owner, admin and jobs:all, else the summary. */
  view(job: JobRecord, viewer: JobViewer, withPayload: boolean): JobView {
    return jobView(this.opts.key, job, ownsOrSeesAll(job, viewer) ? 'full' : 'summary', withPayload, (id) => this.opts.store.callbacks(id));
  }
}

/** The submitter as a viewer of the job it just submitted (or replayed). */
function submitterView(by: Submitter): JobViewer {
  return { id: by.id, all: by.all === true };
}
