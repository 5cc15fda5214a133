/**
 * The dispatcher: hands queued jobs to their service at the pace it can take (per-service
 * concurrency; priority, then first in first out), starting a stopped service on demand. Transient
 * failures are retried with exponential backoff up to maxAttempts (attempt-outcome.ts says which);
 * an attempt over its timeout fails the job and the service is told to cancel before its slot is
 * given to the next job. A job is claimed by one atomic UPDATE, so it is never dispatched twice at once.
 * An attempt's outcome is settled by settlement.ts: durable first, announced after.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observe/logger.js';
import type { JobRecord, JobStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import { outcomeOfAnswer, outcomeOfError, type Outcome } from './attempt-outcome.js';
import type { JobServicePort } from './ports.js';
import { JobService } from './queue.js';
import { Settlement, sealOutcome } from './settlement.js';

export interface DispatcherOptions {
  store: JobStore;
  jobs: JobService;
  services: JobServicePort;
  events: EventBus;
  key: Buffer;
  log: Logger;
  config: () => Readonly<Config>;
  /** Base URL the services use to post progress back (the gateway's own URL), or null. */
  progressBase: () => string | null;
  /** Host path of a run's workspace (a job's context), or null. */
  workspaceOf: (runId: string) => string | null;
  /** Called when a job reaches a final state (callbacks, notifications). */
  onFinished: (job: JobRecord) => void;
  now?: () => number;
}

interface InFlight {
  job: JobRecord;
  controller: AbortController;
  canceled: boolean;
  timedOut: boolean;
  /** The job request was sent (or is being sent): the service may be working on it. */
  handedOver: boolean;
}

/**
 * Waits for `work` unless `signal` aborts first: then rejects at once, and `work` goes on with its
 * outcome ignored (a service start that a canceled or timed-out job waited for may still finish).
 */
function unlessAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted while waiting for the service'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export class Dispatcher {
  private readonly now: () => number;
  private readonly inFlight = new Map<string, Map<string, InFlight>>();
  private readonly pending = new Set<string>();
  /** Outcomes answered by the services and being made durable. */
  private readonly outcomes: Settlement;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** When the retry timer fires (ms since the epoch), or null. */
  private retryAt: number | null = null;
  private stopped = true;
  /** Draining: no job is claimed any more; the ones in flight may finish. */
  private draining = false;
  /** Called when a job in flight lets go of its slot (the drain waits on it). */
  private onSettled: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
    this.outcomes = new Settlement({ ...opts, now: this.now, stopped: () => this.stopped, retryAt: (at) => this.armRetryTimer(at) });
  }

  /**
   * Crash recovery (documented in docs/jobs.md): a job left `dispatched` or `running` by a gateway
   * that died was interrupted, and that attempt counts. Its service is told to cancel it (awaited,
   * so that a `url` service that outlived the gateway stops the old attempt before a new one is
   * sent); the job goes back to the queue if it has attempts left, else it fails with
   * `gateway_restarted`. A job whose cancel was asked for is canceled. Supervised children of the
   * dead gateway are killed at boot before this runs.
   */
  async recover(): Promise<{ requeued: number; failed: number; canceled: number }> {
    const counts = { requeued: 0, failed: 0, canceled: 0 };
    const interrupted = this.opts.store.interrupted();
    // A queued job whose cancel was asked for never reached its service: nothing to stop there.
    await Promise.allSettled(interrupted.filter((job) => job.state !== 'queued').map((job) => this.opts.services.cancel(job.service, job.id)));
    const now = this.now();
    const writes: Array<Promise<string | null>> = [];
    for (const job of interrupted) {
      const error = { code: 'gateway_restarted', message: `attempt ${job.attempts} was interrupted: the gateway stopped` };
      const outcome = sealOutcome(this.opts.key, job.id, { error });
      if (job.cancelRequested) {
        writes.push(this.opts.store.finish(job.id, 'canceled', null, 'canceled', now).then((done) => (done ? job.id : null)));
        counts.canceled++;
      } else if (job.attempts < job.maxAttempts) {
        writes.push(this.opts.store.requeue(job.id, now, error.code, outcome, now).then(() => null));
        counts.requeued++;
      } else {
        writes.push(this.opts.store.finish(job.id, 'failed', outcome, error.code, now).then((done) => (done ? job.id : null)));
        counts.failed++;
      }
    }
    // One commit for all of them; callbacks and notifications go out once it is durable.
    for (const id of await Promise.all(writes)) {
      const finished = id === null ? undefined : this.opts.store.get(id);
      if (finished) this.opts.onFinished(finished);
    }
    return counts;
  }

  start(): void {
    this.stopped = false;
    const now = this.now();
    for (const s of this.opts.store.dueServices(now)) this.pending.add(s);
    this.armRetryTimer(this.opts.store.nextDueAt(now));
    // A deleted service: its queued jobs can never run; the pump fails them.
    this.unsubscribe = this.opts.events.subscribe((e) => {
      if (e.family === 'services' && e.type === 'service.deleted' && typeof e.data['service'] === 'string') this.kick(e.data['service']);
    });
    this.schedule();
  }

  /**
   * Stops dispatching and abandons what is in flight: those jobs stay `dispatched`/`running` in the
   * database and are recovered at the next boot exactly as after a crash (one rule, not two).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
    for (const flights of this.inFlight.values()) for (const f of flights.values()) f.controller.abort();
    // Outcomes already answered are committed (and announced) before the store closes; one that
    // cannot be written is left to recovery, like the jobs in flight.
    await this.outcomes.stop();
  }

  /**
   * The drain: claims no further job and gives the jobs in flight until `deadlineMs` to finish (their
   * outcome is recorded as usual). Returns how many finished and how many are still running; stop()
   * then cuts those, and the next boot runs them again (another attempt).
   */
  async drain(deadlineMs: number): Promise<{ finished: number; rerun: number }> {
    this.draining = true;
    const inFlight = () => {
      let n = 0;
      for (const flights of this.inFlight.values()) n += flights.size;
      return n;
    };
    const before = inFlight();
    if (before > 0 && deadlineMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, deadlineMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.onSettled = () => {
          if (inFlight() === 0) done();
        };
      });
      this.onSettled = null;
    }
    const rerun = inFlight();
    // The outcomes of the jobs that finished are durable (and announced) before the drain says so.
    await this.outcomes.settled();
    return { finished: before - rerun, rerun };
  }

  /** Wakes the dispatcher for a service (a job was queued, a slot freed). Cheap: one pass per tick. */
  kick(service: string): void {
    this.pending.add(service);
    this.schedule();
  }

  /**
   * A client canceled `job` (JobService marked the cancel in its row first, so the job is never
   * claimed again). A queued one (also one waiting for its retry) is settled canceled now, the one
   * way every job finishes: its event, its callback and its notifications go out once that is
   * durable, and the promise resolves then. A claimed one is aborted, also while it waits for its
   * service to start, and settles as its attempt ends. One whose outcome is being committed is
   * canceled after a re-queue commits (a finish commits final: nothing is left to cancel).
   */
  cancel(job: JobRecord): Promise<void> {
    const settling = this.outcomes.askCancel(job.id);
    if (settling) return settling;
    if (job.state === 'queued') return this.outcomes.settle(job, { state: 'canceled' }, this.now());
    const f = this.inFlight.get(job.service)?.get(job.id);
    if (f) {
      f.canceled = true;
      f.controller.abort();
    }
    return Promise.resolve();
  }

  running(service: string): number {
    return this.inFlight.get(service)?.size ?? 0;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped || this.draining) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Claims what each woken service has room for. No query runs for a service whose slots are full. */
  private pump(): void {
    if (this.stopped || this.draining) return;
    const now = this.now();
    const services = [...this.pending];
    this.pending.clear();
    for (const service of services) {
      const limit = this.opts.services.concurrency(service);
      if (limit === undefined) {
        this.failOrphans(service, now);
        continue;
      }
      const flights = this.inFlight.get(service) ?? new Map<string, InFlight>();
      this.inFlight.set(service, flights);
      if (flights.size >= limit) continue;
      const tokens: string[] = [];
      const claimed = this.opts.store.claim(
        service,
        now,
        limit - flights.size,
        () => {
          const token = JobService.progressToken();
          tokens.push(token.token);
          return token.digest;
        },
        this.opts.services.isReady(service),
      );
      claimed.forEach((job, i) => {
        const flight: InFlight = { job, controller: new AbortController(), canceled: job.cancelRequested, timedOut: false, handedOver: false };
        flights.set(job.id, flight);
        void this.run(flight, tokens[i] as string);
      });
    }
  }

  /** Queued jobs of a service that is no longer registered fail with service_not_found. */
  private failOrphans(service: string, now: number): void {
    for (const job of this.opts.store.queuedOf(service)) {
      if (this.outcomes.has(job.id)) continue;
      void this.outcomes.settle(job, { state: 'failed', code: 'service_not_found', message: `the service ${service} is no longer registered` }, now);
    }
  }

  /** Wakes up at `at` (the earliest retry due), unless an earlier wake-up is already set. */
  private armRetryTimer(at: number | null): void {
    if (at === null || this.stopped) return;
    if (this.retryAt !== null && this.retryAt <= at) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.retryAt = null;
        const now = this.now();
        for (const s of this.opts.store.dueServices(now)) this.pending.add(s);
        this.armRetryTimer(this.opts.store.nextDueAt(now));
        this.schedule();
      },
      Math.max(1, at - this.now()),
    );
    this.retryTimer.unref();
  }

  private async run(flight: InFlight, progressToken: string): Promise<void> {
    const { job } = flight;
    const cfg = this.opts.config().jobs;
    this.opts.events.publish('job.dispatched', 'jobs', { id: job.id, service: job.service, state: 'dispatched', attempt: job.attempts });
    let outcome: Outcome;
    const { timeoutSeconds } = job;
    const timer = setTimeout(() => {
      flight.timedOut = true;
      flight.controller.abort();
    }, job.timeoutSeconds * 1000);
    let poller: NodeJS.Timeout | null = null;
    try {
      // A cancel or the attempt's timeout ends the wait for a service that is starting at once,
      // not when the start finishes or gives up (jobs.startTimeoutSeconds).
      await unlessAborted(this.opts.services.ensureRunning(job.service, cfg.startTimeoutSeconds * 1000), flight.controller.signal);
      if (flight.canceled || flight.controller.signal.aborted) throw new Error('aborted before dispatch');
      if (job.state === 'dispatched') this.opts.store.markRunning(job.id, this.now());
      this.opts.events.publish('job.running', 'jobs', { id: job.id, service: job.service, state: 'running', attempt: job.attempts });
      if (cfg.progressPollMs > 0) poller = this.pollProgress(job, cfg.progressPollMs);
      const base = this.opts.progressBase();
      flight.handedOver = true;
      const res = await this.opts.services.dispatch(job.service, {
        jobId: job.id,
        attempt: job.attempts,
        payload: this.opts.jobs.payloadOf(job),
        progressUrl: base === null ? null : `${base}/api/v1/jobs/${job.id}/progress`,
        progressToken,
        signal: flight.controller.signal,
        maxResultBytes: cfg.maxResultBytes,
        workspace: job.runId === null ? null : this.opts.workspaceOf(job.runId),
      });
      outcome = outcomeOfAnswer(res.status, res.body, { canceled: flight.canceled, timedOut: false, timeoutSeconds });
    } catch (err) {
      outcome = outcomeOfError(err, { canceled: flight.canceled, timedOut: flight.timedOut, timeoutSeconds });
    } finally {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
    }
    if (this.stopped) return;
    // Announced once durable (a commit shared with the other outcomes and submissions of this
    // turn); the slot is free as soon as the service has answered.
    void this.outcomes.settle(job, outcome, this.now());
    // The service is told to stop an attempt moat gave up on, and its slot stays taken until it
    // answered (or the cancel timed out): the next job never runs beside the abandoned one. A job
    // that never reached the service (it was waiting for the service to start) has nothing to stop.
    if ((flight.timedOut || flight.canceled) && flight.handedOver) await this.opts.services.cancel(job.service, job.id).catch(() => undefined);
    this.inFlight.get(job.service)?.delete(job.id);
    this.opts.services.noteActivity(job.service);
    this.onSettled?.();
    this.kick(job.service);
  }

  private pollProgress(job: JobRecord, everyMs: number): NodeJS.Timeout {
    const t = setInterval(() => {
      void this.opts.services
        .progress(job.service, job.id)
        .then((p) => {
          if (p) this.opts.jobs.recordProgress(job, p.progress, p.message);
        })
        .catch(() => undefined);
    }, everyMs);
    t.unref();
    return t;
  }
}
