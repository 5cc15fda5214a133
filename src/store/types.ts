/**
 * Store interfaces: plain records in and out. The domain depends on these, never on SQL; sqlite/
 * implements them (a postgres/ implementation for several replicas would implement the same).
 */
import type { TaskState } from '../api/tasks.js';

export interface TokenRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  scopes: string[];
  kind: 'admin' | 'token';
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdBy: string | null;
}

export interface TokenStore {
  insert(record: TokenRecord): void;
  /** Every token that is not revoked (expired ones included; the caller checks expiry). */
  listActive(): TokenRecord[];
  listAll(): TokenRecord[];
  get(id: string): TokenRecord | undefined;
  revoke(id: string, at: number): boolean;
  /** Replaces the admin token's hash (rotation or an operator-supplied token); `at` becomes its created time only when the hash changes. */
  upsertAdmin(hash: string, at: number): void;
  touchLastUsed(updates: ReadonlyArray<{ id: string; at: number }>): void;
}

export interface PairingRecord {
  id: string;
  /** Keyed digest of the 6-digit code (of the link code when the code has no digits: an admin console code). */
  digest: string;
  name: string | null;
  scopes: string[];
  tokenTtlSeconds: number | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  createdBy: string | null;
  /** Redeems for a console session (POST /api/v1/console/session), not a token (POST /api/v1/pair). */
  console: boolean;
  /** Keyed digest of the sign-in link's code (console codes only); using it burns the digits too. */
  linkDigest: string | null;
}

/** What a code redeems for: a token (POST /api/v1/pair) or a console session. */
export type PairingKind = 'token' | 'console';

export interface PairingStore {
  insert(record: PairingRecord): void;
  /**
   * Marks the unused, unexpired code of this kind whose digest or link digest is `digest` as used
   * and returns it; undefined otherwise.
   */
  consume(digest: string, now: number, kind: PairingKind): PairingRecord | undefined;
  /** The unused, unexpired code of this kind with this digest (or link digest), left as it is; undefined otherwise. */
  peek(digest: string, now: number, kind: PairingKind): PairingRecord | undefined;
  /** Whether an unused, unexpired code has this digest. */
  isLive(digest: string, now: number): boolean;
  /** Deletes codes that expired or were used before `before`. */
  prune(before: number): number;
  /** Deletes every code not redeemed yet (an admin-token rotation withdraws them); returns how many. */
  withdrawUnused(): number;
}

/** A console session: a browser's cookie, kept as its SHA-256 only. */
export interface SessionRecord {
  id: string;
  /** Hex SHA-256 of the cookie value; the value itself is never stored. */
  hash: string;
  name: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number;
  /** The absolute end (sign-in + console.sessionMaxAgeSeconds); the idle end follows lastUsedAt. */
  expiresAt: number;
  /** The client address that signed in. */
  client: string;
}

export interface SessionStore {
  insert(record: SessionRecord): void;
  list(): SessionRecord[];
  get(id: string): SessionRecord | undefined;
  /** Deletes it (sign-out, revocation); false when it was not there. */
  delete(id: string): boolean;
  /** Deletes every session (the admin token was rotated); returns their ids. */
  deleteAll(): string[];
  touchLastUsed(updates: ReadonlyArray<{ id: string; at: number }>): void;
}

export type JobState = 'queued' | 'dispatched' | 'running' | 'succeeded' | 'failed' | 'canceled';
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'canceled'];

export interface JobRecord {
  id: string;
  seq: number;
  service: string;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  /** Sealed (AES-256-GCM) JSON payload. */
  payload: Buffer;
  /** Sealed JSON `{ result }` or `{ error }` once finished. */
  outcome: Buffer | null;
  /** A short, non-sensitive reason for a failure (timeout, service_error, ...). */
  errorCode: string | null;
  progress: number | null;
  progressMessage: string | null;
  /** Sealed callback URL. */
  callback: Buffer | null;
  notify: string[] | null;
  progressTokenHash: string | null;
  cancelRequested: boolean;
  runId: string | null;
  /** Who or what submitted it: a token id, `hook:<name>`, `schedule:<name>`, `action-link`. */
  createdBy: string | null;
  createdByName: string | null;
  /**
   * The principal whose job it is (its payload and result): a principal id (a token's, `admin`, a
   * future browser session's), or null for jobs no principal owns (a hook's). Not always createdBy:
   * a schedule's jobs belong to whoever added the schedule.
   */
  owner: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  nextAttemptAt: number | null;
}

export interface IdempotencyRecord {
  tokenId: string;
  key: string;
  /** Fingerprint of the submission, `k1:<HMAC-SHA256>` under a per-install subkey (older rows: plain SHA-256). */
  bodyHash: string;
  jobId: string;
  createdAt: number;
}

export interface JobListFilter {
  service?: string | undefined;
  state?: JobState | undefined;
  /** Only jobs of this owner. */
  owner?: string | undefined;
  limit: number;
  /** Only jobs with seq below this (the cursor). */
  beforeSeq?: number | undefined;
}

export interface CallbackAttempt {
  attempt: number;
  at: number;
  status: number | null;
  error: string | null;
}

export interface JobStore {
  /**
   * Inserts the job and its idempotency key; resolves once they are committed (durable), so the
   * caller acknowledges only what is on disk. Inserts made in the same turn of the event loop share
   * one commit (group commit), each in its own savepoint. A key already held by a record created at
   * or after `keyNotBefore` (a concurrent submission) rejects with `idempotency_conflict` and
   * nothing of that job is written; an older record (expired) is replaced.
   */
  insert(job: JobRecord, idempotency?: IdempotencyRecord & { keyNotBefore: number }): Promise<void>;
  get(id: string): JobRecord | undefined;
  list(filter: JobListFilter): JobRecord[];
  findIdempotent(tokenId: string, key: string, notBefore: number): IdempotencyRecord | undefined;
  /**
   * Atomically moves the next dispatchable jobs of `service`, up to `max`, to `dispatched` (attempts
   * + 1), each with the digest of its attempt's progress token (`tokenDigest()` is called once per
   * claim); straight to `running` when `ready` (the service is up, so the job is handed over at
   * once: one write instead of two). One commit for all of them, without a sync of its own
   * (recovery re-queues a claimed job after a crash). Highest priority first, then oldest first.
   */
  claim(service: string, now: number, max: number, tokenDigest: () => string, ready?: boolean): JobRecord[];
  markRunning(id: string, now: number): boolean;
  setProgress(id: string, progress: number, message: string | null, now: number): boolean;
  /**
   * Moves a job that is queued or in flight to a final state; resolves once that is committed
   * (durable), with false when the job was final already. Finishes, re-queues and inserts of one
   * turn of the event loop share one commit: the caller announces the outcome (event, callback,
   * notification) only after the promise resolved, and a reader never sees it before it is durable.
   */
  finish(id: string, state: 'succeeded' | 'failed' | 'canceled', outcome: Buffer | null, errorCode: string | null, now: number): Promise<boolean>;
  /**
   * Puts a job in flight back in the queue, not before `nextAttemptAt`, with the failed attempt's
   * (sealed) error; resolves once committed (durable), with false when the job was not in flight.
   */
  requeue(id: string, nextAttemptAt: number, errorCode: string, outcome: Buffer, now: number): Promise<boolean>;
  /** Marks a job's cancel as asked for (synced): a queued job so marked is never claimed again. */
  requestCancel(id: string, now: number): boolean;
  delete(id: string): boolean;
  /**
   * Jobs left `dispatched`/`running` by a previous run of the gateway, and queued jobs whose cancel
   * was asked for but whose canceled state was not committed before it stopped.
   */
  interrupted(): JobRecord[];
  /** Services that have a queued job due now. */
  dueServices(now: number): string[];
  /** The earliest time after `now` at which a queued job waiting for its retry becomes due, or null. */
  nextDueAt(now: number): number | null;
  /** Queued jobs of one service (to fail them when the service is gone). */
  queuedOf(service: string): JobRecord[];
  maxSeq(): number;
  countsByState(): Array<{ service: string; state: JobState; count: number }>;
  purgeFinished(before: number): number;
  purgeIdempotency(before: number): number;
  recordCallback(jobId: string, attempt: CallbackAttempt): void;
  callbacks(jobId: string): CallbackAttempt[];
  /** Finished jobs whose callback has not been delivered and has attempts left. */
  pendingCallbacks(maxAttempts: number): JobRecord[];
}

export interface ScheduleRecord {
  name: string;
  cron: string;
  timezone: string | null;
  service: string;
  /** Sealed JSON payload. */
  payload: Buffer;
  missed: 'run-once' | 'skip' | null;
  paused: boolean;
  lastRunAt: number | null;
  createdAt: number;
  createdBy: string | null;
}

export interface ScheduleStore {
  insert(s: ScheduleRecord): void;
  get(name: string): ScheduleRecord | undefined;
  list(): ScheduleRecord[];
  setPaused(name: string, paused: boolean): boolean;
  setLastRun(name: string, at: number): void;
  delete(name: string): boolean;
}

export interface RunRecord {
  id: string;
  /** Service this run is for, if any (a name; the service registry decides what it means). */
  service: string | null;
  /** The client's input, as JSON text (bounded by the route). */
  input: string | null;
  /** Names of operator mounts this run includes. */
  mounts: string[];
  /** Client-chosen root, relative to workspaces.clientScopeBase; null for a per-run workspace. */
  clientRoot: string | null;
  createdBy: string;
  createdAt: number;
}

export interface RunStore {
  insert(record: RunRecord): void;
  get(id: string): RunRecord | undefined;
  /** Newest first; only `createdBy`'s runs when given. */
  list(opts: { createdBy?: string | undefined; limit: number }): RunRecord[];
  delete(id: string): boolean;
}

/** A service registered through the API (config-file services are not stored). */
export interface ServiceRow {
  name: string;
  /** The service object as registered (JSON), defaults filled. */
  spec: unknown;
  createdAt: number;
  updatedAt: number;
  createdBy: string | null;
}

export interface ServiceStore {
  list(): ServiceRow[];
  get(name: string): ServiceRow | undefined;
  /** Inserts; false when the name is taken. */
  insert(row: ServiceRow): boolean;
  update(name: string, spec: unknown, at: number): boolean;
  delete(name: string): boolean;
}

/** A hook registered through the API (config-file hooks are not stored). */
export interface HookRow {
  name: string;
  verify: string;
  /** Sealed signing secret (context `hook:<name>:secret`); null: none (deliveries refused). */
  secret: Buffer | null;
  /** Sealed WhatsApp verify token (context `hook:<name>:verify-token`). */
  verifyToken: Buffer | null;
  /** The action object as registered (JSON). */
  action: unknown;
  maxBodyBytes: number | null;
  createdAt: number;
  createdBy: string | null;
}

/** A delivery (or trigger call) remembered for deduplication. */
export interface DeliveryRecord {
  hook: string;
  deliveryId: string;
  receivedAt: number;
  jobId: string | null;
  taskId: string | null;
}

export interface HookStore {
  list(): HookRow[];
  get(name: string): HookRow | undefined;
  /** Inserts; false when the name is taken. */
  insert(row: HookRow): boolean;
  delete(name: string): boolean;
  findDelivery(hook: string, deliveryId: string, notBefore: number): DeliveryRecord | undefined;
  /** Remembers a delivery; false when it is remembered already (since `notBefore`; older ones are replaced). */
  recordDelivery(d: DeliveryRecord, notBefore: number): boolean;
  /** Remembers a one-time value (a Nextcloud Talk random); false when it was seen before. */
  rememberNonce(hook: string, nonce: string, at: number): boolean;
  purge(deliveriesBefore: number, noncesBefore: number): void;
  /** Runs `fn` in one transaction (deduplication and the task it creates commit together). */
  atomically<T>(fn: () => T): T;
}

export interface TaskRecord {
  id: string;
  seq: number;
  /** Sealed JSON `{title, body}` (context `task:<id>:content`). */
  content: Buffer;
  state: TaskState;
  /** Bumped by every change a reviewer would care about; action links are bound to it. */
  version: number;
  /** Sealed JSON `{service, payload}` of the job that runs once approved (context `task:<id>:job`). */
  pendingJob: Buffer | null;
  pendingService: string | null;
  jobId: string | null;
  /** Where it came from: `api`, `hook:<name>`, `trigger:<path>`. */
  source: string;
  createdBy: string | null;
  createdByName: string | null;
  reviewedBy: string | null;
  reviewedByName: string | null;
  reviewedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface TaskEventRecord {
  taskId: string;
  seq: number;
  type: string;
  at: number;
  actorId: string | null;
  actorName: string | null;
  /** Non-secret facts (decision, state change, job id). */
  detail: Record<string, unknown> | null;
  /** Sealed text of a comment (context `task:<id>:event:<seq>`). */
  text: Buffer | null;
}

export type TaskChanges = Partial<
  Pick<TaskRecord, 'content' | 'state' | 'pendingJob' | 'pendingService' | 'jobId' | 'reviewedBy' | 'reviewedByName' | 'reviewedAt'>
>;

export interface TaskStore {
  insert(task: TaskRecord): void;
  get(id: string): TaskRecord | undefined;
  /** Newest first. */
  list(filter: { state?: TaskState | undefined; limit: number; beforeSeq?: number | undefined }): TaskRecord[];
  maxSeq(): number;
  /** Applies `changes` only if the task is still at `expectedVersion`; `bump` raises the version. */
  update(id: string, expectedVersion: number, changes: TaskChanges, bump: boolean, now: number): boolean;
  /** Appends an event with the next seq of its task; returns the seq. */
  appendEvent(event: Omit<TaskEventRecord, 'seq'>, text?: (seq: number) => Buffer): number;
  events(taskId: string): TaskEventRecord[];
  delete(id: string): boolean;
  byJob(jobId: string): TaskRecord | undefined;
  /** Approved tasks whose job was never submitted (a crash between approval and submission). */
  approvedWithoutJob(): TaskRecord[];
  /** Records the use of an action link; false when its nonce was used before. */
  useLink(nonce: string, taskId: string, action: string, at: number, expiresAt: number): boolean;
  isLinkUsed(nonce: string): boolean;
  purgeLinks(expiredBefore: number): number;
  atomically<T>(fn: () => T): T;
}
