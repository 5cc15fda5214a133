/**
 * Store interfaces: plain records in and out. The domain depends on these, never on SQL; sqlite/
 * implements them (a postgres/ implementation for several replicas would implement the same).
 */

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
  digest: string;
  name: string | null;
  scopes: string[];
  tokenTtlSeconds: number | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  createdBy: string | null;
}

export interface PairingStore {
  insert(record: PairingRecord): void;
  /** Marks the unused, unexpired code with this digest as used and returns it; undefined otherwise. */
  consume(digest: string, now: number): PairingRecord | undefined;
  /** Whether an unused, unexpired code has this digest. */
  isLive(digest: string, now: number): boolean;
  /** Deletes codes that expired or were used before `before`. */
  prune(before: number): number;
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
  createdBy: string | null;
  createdByName: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  nextAttemptAt: number | null;
}

export interface IdempotencyRecord {
  tokenId: string;
  key: string;
  bodyHash: string;
  jobId: string;
  createdAt: number;
}

export interface JobListFilter {
  service?: string | undefined;
  state?: JobState | undefined;
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
  /** Inserts the job (and its idempotency key) in one transaction: durable before it is acknowledged. */
  insert(job: JobRecord, idempotency?: IdempotencyRecord): void;
  get(id: string): JobRecord | undefined;
  list(filter: JobListFilter): JobRecord[];
  findIdempotent(tokenId: string, key: string, notBefore: number): IdempotencyRecord | undefined;
  /**
   * Atomically moves the next dispatchable job of `service` to `dispatched` (attempts + 1), with the
   * digest of this attempt's progress token.
   */
  claimNext(service: string, now: number, tokenDigest: string): JobRecord | undefined;
  markRunning(id: string, now: number): boolean;
  setProgress(id: string, progress: number, message: string | null, now: number): boolean;
  /** Moves a job in flight to a final state. */
  finish(id: string, state: 'succeeded' | 'failed' | 'canceled', outcome: Buffer | null, errorCode: string | null, now: number): boolean;
  /** Puts a job in flight back in the queue, not before `nextAttemptAt`. */
  requeue(id: string, nextAttemptAt: number, errorCode: string, now: number): boolean;
  requestCancel(id: string, now: number): boolean;
  delete(id: string): boolean;
  /** Jobs left `dispatched`/`running` by a previous run of the gateway. */
  interrupted(): JobRecord[];
  /** Services that have a queued job due now, and the earliest future due time. */
  dueServices(now: number): { services: string[]; nextDueAt: number | null };
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
