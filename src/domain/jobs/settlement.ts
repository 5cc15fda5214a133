/**
 * How the dispatcher settles an attempt's outcome: re-queued for a retry or finished, committed
 * durably (a failed commit is retried with backoff, nothing announced meanwhile), and only then
 * announced (event, callback, notifications). A cancel asked while an outcome is being committed is
 * remembered and applied after a re-queue commits.
 */
import type { Config } from '../../config/schema.js';
import { sealJson } from '../../crypto/seal.js';
import type { Logger } from '../../observe/logger.js';
import type { JobRecord, JobStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import { backoffMs, type Outcome } from './attempt-outcome.js';

export interface SettlementOptions {
  store: JobStore;
  events: EventBus;
  key: Buffer;
  log: Logger;
  config: () => Readonly<Config>;
  onFinished: (job: JobRecord) => void;
  now: () => number;
  /** The dispatcher stopped: give up waiting between tries (the job is left to recovery). */
  stopped: () => boolean;
  /** A job was re-queued for a retry at `at` (ms since the epoch): the dispatcher wakes then. */
  retryAt: (at: number) => void;
}

/** An outcome being committed; a cancel that comes meanwhile is remembered. */
interface Settling {
  cancelAsked: boolean;
  /** Resolves once the outcome is durable and announced (or given up at stop). */
  done: Promise<void>;
}

/** The longest wait between two tries of a durable write that failed. */
const MAX_WRITE_RETRY_MS = 30_000;

/** What a job's sealed outcome is bound to: a row copied to another job does not open. */
export const outcomeContext = (jobId: string): string => `job:${jobId}:outcome`;

/** An attempt's outcome (result or error), sealed to its job. */
export function sealOutcome(key: Buffer, jobId: string, value: unknown): Buffer {
  return sealJson(key, value, outcomeContext(jobId));
}

export class Settlement {
  private readonly settling = new Map<string, Settling>();
  /** Ends the waits between tries of durable writes that failed (at stop). */
  private readonly retryWaits = new Set<() => void>();

  constructor(private readonly opts: SettlementOptions) {}

  has(id: string): boolean {
    return this.settling.has(id);
  }

  /** Marks a cancel on an outcome being committed; resolves when it is settled (undefined: none is). */
  askCancel(id: string): Promise<void> | undefined {
    const entry = this.settling.get(id);
    if (!entry) return undefined;
    entry.cancelAsked = true;
    return entry.done;
  }

  /** Resolves once every outcome being committed is durable and announced (or given up). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.settling.values()].map((s) => s.done));
  }

  /** Ends the waits between failed tries at once, then waits for what can still be committed. */
  async stop(): Promise<void> {
    for (const wake of [...this.retryWaits]) wake();
    await this.settled();
  }

  /**
   * Records an attempt's outcome and announces it once it is durable: the store's write resolves
   * after the synced commit it shares with the other writes of the turn, and only then do the
   * event, the callback and the notifications go out (a GET cannot see the row before either).
   * Never rejects: a write that fails is retried (the job stays in flight in the store meanwhile).
   */
  settle(job: JobRecord, outcome: Outcome, now: number): Promise<void> {
    const entry: Settling = { cancelAsked: false, done: Promise.resolve() };
    this.settling.set(job.id, entry);
    entry.done = this.settleDurably(job, outcome, now, entry).finally(() => {
      if (this.settling.get(job.id) === entry) this.settling.delete(job.id);
    });
    return entry.done;
  }

  private async settleDurably(job: JobRecord, outcome: Outcome, now: number, entry: Settling): Promise<void> {
    const cfg = this.opts.config().jobs;
    const seal = (value: unknown) => sealOutcome(this.opts.key, job.id, value);
    if (outcome.state === 'retry' && job.attempts < job.maxAttempts) {
      const delay = backoffMs(job.attempts, cfg.retryBaseMs, cfg.retryMaxMs);
      const error = { code: outcome.code, message: `attempt ${job.attempts} of ${job.maxAttempts} failed (${outcome.message}); retrying in ${delay} ms` };
      const sealed = seal({ error });
      const requeued = await this.durably(job, () => this.opts.store.requeue(job.id, now + delay, outcome.code, sealed, now));
      if (!requeued) return;
      // A cancel that came while the re-queue was being committed: the job is queued now, and marked.
      if (entry.cancelAsked) return this.settleDurably({ ...job, state: 'queued' }, { state: 'canceled' }, this.opts.now(), entry);
      this.opts.retryAt(now + delay);
      this.opts.events.publish('job.retrying', 'jobs', {
        id: job.id,
        service: job.service,
        state: 'queued',
        attempt: job.attempts,
        retryInMs: delay,
        reason: outcome.code,
      });
      this.opts.log.info({ job: job.id, service: job.service, attempt: job.attempts, reason: outcome.code }, 'job attempt failed; retrying');
      return;
    }
    let state: 'succeeded' | 'failed' | 'canceled';
    let sealed: Buffer | null;
    let code: string | null;
    if (outcome.state === 'succeeded') {
      [state, sealed, code] = ['succeeded', seal({ result: outcome.result }), null];
    } else if (outcome.state === 'canceled') {
      [state, sealed, code] = ['canceled', null, 'canceled'];
    } else {
      [state, sealed, code] = ['failed', seal({ error: { code: outcome.code, message: outcome.message } }), outcome.code];
    }
    // Finished already (by another path): its event, callback and notifications went out then.
    if (!(await this.durably(job, () => this.opts.store.finish(job.id, state, sealed, code, now)))) return;
    this.opts.events.publish(`job.${state}`, 'jobs', { id: job.id, service: job.service, state, attempts: job.attempts });
    // Callbacks and notifications read the final row; most jobs have neither.
    if (job.callback !== null || job.notify !== null) {
      const finished = this.opts.store.get(job.id);
      if (finished) this.opts.onFinished(finished);
    }
  }

  /**
   * Runs a durable write until it commits: a failed commit (disk full, I/O error) is retried with
   * backoff while the dispatcher runs, and nothing is announced meanwhile. Once stopped, the job is
   * left in flight in the store, and recovery at the next boot settles it (docs/jobs.md). Resolves
   * with the write's answer, or false when it was given up.
   */
  private async durably(job: JobRecord, write: () => Promise<boolean>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        this.opts.log.error({ err, job: job.id, service: job.service, attempt }, 'could not record the outcome of a job; retrying');
        if (this.opts.stopped()) return false;
        // stop() ends the wait at once: the job is left to recovery.
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.retryWaits.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(100 * 2 ** (attempt - 1), MAX_WRITE_RETRY_MS));
          this.retryWaits.add(wake);
        });
        if (this.opts.stopped()) return false;
      }
    }
  }
}
