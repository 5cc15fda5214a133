/**
 * The dispatcher: hands queued jobs to their service at the pace it can take (per-service
 * concurrency; priority, then first in first out), starting a stopped service on demand. Transient
 * failures (the service unreachable, 429, 502-504) are retried with exponential backoff up to
 * maxAttempts; an attempt over its timeout fails the job and the service is told to cancel.
 * A job is claimed by one atomic UPDATE, so it is never dispatched twice at once.
 */
import type { Config } from '../../config/schema.js';
import { hasCode } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import { sealJson } from '../../security/seal.js';
import type { JobRecord, JobStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import type { JobServicePort } from './ports.js';
import { JobService } from './queue.js';

type Outcome =
  | { state: 'succeeded'; result: unknown }
  | { state: 'failed'; code: string; message: string }
  | { state: 'canceled' }
  | { state: 'retry'; code: string; message: string };

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
}

const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);

export class Dispatcher {
  private readonly now: () => number;
  private readonly inFlight = new Map<string, Map<string, InFlight>>();
  private readonly pending = new Set<string>();
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Crash recovery (documented in docs/jobs.md): a job left `dispatched` or `running` by a gateway
   * that died was interrupted. Its service is told to cancel that attempt; the job goes back to the
   * queue if it has attempts left, else it fails with `gateway_restarted`. Supervised children of
   * the dead gateway are killed at boot before this runs, so the old attempt is not still running.
   */
  async recover(): Promise<{ requeued: number; failed: number }> {
    let requeued = 0;
    let failed = 0;
    const now = this.now();
    for (const job of this.opts.store.interrupted()) {
      void this.opts.services.cancel(job.service, job.id).catch(() => undefined);
      if (job.attempts < job.maxAttempts && !job.cancelRequested) {
        this.opts.store.requeue(job.id, now, 'gateway_restarted', now);
        requeued++;
      } else {
        const state = job.cancelRequested ? 'canceled' : 'failed';
        const error = { code: 'gateway_restarted', message: 'the gateway stopped during the last attempt' };
        this.opts.store.finish(job.id, state, state === 'failed' ? sealJson(this.opts.key, { error }, `job:${job.id}:outcome`) : null, 'gateway_restarted', now);
        failed++;
        const finished = this.opts.store.get(job.id);
        if (finished) this.opts.onFinished(finished);
      }
    }
    return { requeued, failed };
  }

  start(): void {
    this.stopped = false;
    for (const s of this.opts.store.dueServices(this.now()).services) this.pending.add(s);
    this.schedule();
  }

  /**
   * Stops dispatching and abandons what is in flight: those jobs stay `dispatched`/`running` in the
   * database and are recovered at the next boot exactly as after a crash (one rule, not two).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const flights of this.inFlight.values()) for (const f of flights.values()) f.controller.abort();
  }

  /** Wakes the dispatcher for a service (a job was queued, a slot freed). */
  kick(service: string): void {
    this.pending.add(service);
    this.schedule();
  }

  cancel(job: JobRecord): void {
    const f = this.inFlight.get(job.service)?.get(job.id);
    if (f) {
      f.canceled = true;
      f.controller.abort();
    }
  }

  running(service: string): number {
    return this.inFlight.get(service)?.size ?? 0;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    const services = [...this.pending];
    this.pending.clear();
    for (const service of services) {
      const limit = this.opts.services.concurrency(service);
      if (limit === undefined) continue;
      const flights = this.inFlight.get(service) ?? new Map<string, InFlight>();
      this.inFlight.set(service, flights);
      while (flights.size < limit) {
        const token = JobService.progressToken();
        const job = this.opts.store.claimNext(service, now, token.digest);
        if (!job) break;
        const flight: InFlight = { job, controller: new AbortController(), canceled: job.cancelRequested, timedOut: false };
        flights.set(job.id, flight);
        void this.run(flight, token.token);
      }
    }
    this.armRetryTimer(now);
  }

  /** Wakes up when the earliest job waiting for its retry backoff becomes due. */
  private armRetryTimer(now: number): void {
    const { nextDueAt } = this.opts.store.dueServices(now);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (nextDueAt === null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      for (const s of this.opts.store.dueServices(this.now()).services) this.pending.add(s);
      this.schedule();
    }, Math.max(1, nextDueAt - now));
    this.retryTimer.unref();
  }

  private async run(flight: InFlight, progressToken: string): Promise<void> {
    const { job } = flight;
    const cfg = this.opts.config().jobs;
    this.opts.events.publish('job.dispatched', 'jobs', { id: job.id, service: job.service, state: 'dispatched', attempt: job.attempts });
    let outcome: Outcome;
    const timer = setTimeout(() => {
      flight.timedOut = true;
      flight.controller.abort();
    }, job.timeoutSeconds * 1000);
    let poller: NodeJS.Timeout | null = null;
    try {
      await this.opts.services.ensureRunning(job.service, cfg.startTimeoutSeconds * 1000);
      if (flight.canceled || flight.controller.signal.aborted) throw new Error('aborted before dispatch');
      this.opts.store.markRunning(job.id, this.now());
      this.opts.events.publish('job.running', 'jobs', { id: job.id, service: job.service, state: 'running', attempt: job.attempts });
      if (cfg.progressPollMs > 0) poller = this.pollProgress(job, cfg.progressPollMs);
      const base = this.opts.progressBase();
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
      outcome = this.classify(res.status, res.body, flight);
    } catch (err) {
      outcome = this.classifyError(err, flight);
    } finally {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
    }
    if (this.stopped) return;
    if (flight.timedOut || flight.canceled) void this.opts.services.cancel(job.service, job.id).catch(() => undefined);
    this.settle(job, outcome);
    this.inFlight.get(job.service)?.delete(job.id);
    this.opts.services.noteActivity(job.service);
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

  private classify(status: number, body: unknown, flight: InFlight): Outcome {
    if (flight.canceled) return { state: 'canceled' };
    if (status >= 200 && status < 300) return { state: 'succeeded', result: body };
    if (status === 409 && (body as { canceled?: unknown } | null)?.canceled === true) return { state: 'canceled' };
    const message = `the service answered ${status}${typeof (body as { error?: unknown })?.error === 'string' ? `: ${(body as { error: string }).error}` : ''}`;
    if (TRANSIENT_STATUS.has(status)) return { state: 'retry', code: `service_${status}`, message };
    return { state: 'failed', code: 'service_error', message };
  }

  private classifyError(err: unknown, flight: InFlight): Outcome {
    if (flight.canceled) return { state: 'canceled' };
    if (flight.timedOut) return { state: 'failed', code: 'timeout', message: `the attempt ran over ${flight.job.timeoutSeconds} s` };
    if (hasCode(err, 'body_too_large')) return { state: 'failed', code: 'result_too_large', message: 'the result is larger than jobs.maxResultBytes' };
    const message = err instanceof Error ? err.message : String(err);
    if (hasCode(err, 'not_found')) return { state: 'failed', code: 'service_not_found', message };
    // The service could not be started or reached: worth another try.
    return { state: 'retry', code: 'service_unreachable', message };
  }

  private settle(job: JobRecord, outcome: Outcome): void {
    if (this.stopped) return;
    const now = this.now();
    const cfg = this.opts.config().jobs;
    const context = `job:${job.id}:outcome`;
    let state: 'succeeded' | 'failed' | 'canceled';
    if (outcome.state === 'retry') {
      if (job.attempts < job.maxAttempts) {
        const delay = Math.min(cfg.retryBaseMs * 2 ** (job.attempts - 1), cfg.retryMaxMs);
        this.opts.store.requeue(job.id, now + delay, outcome.code, now);
        this.opts.events.publish('job.retrying', 'jobs', { id: job.id, service: job.service, state: 'queued', attempt: job.attempts, retryInMs: delay, reason: outcome.code });
        this.opts.log.info({ job: job.id, service: job.service, attempt: job.attempts, reason: outcome.code }, 'job attempt failed; retrying');
        return;
      }
      state = 'failed';
      this.opts.store.finish(job.id, state, sealJson(this.opts.key, { error: { code: outcome.code, message: outcome.message } }, context), outcome.code, now);
    } else if (outcome.state === 'succeeded') {
      state = 'succeeded';
      this.opts.store.finish(job.id, state, sealJson(this.opts.key, { result: outcome.result }, context), null, now);
    } else if (outcome.state === 'failed') {
      state = 'failed';
      this.opts.store.finish(job.id, state, sealJson(this.opts.key, { error: { code: outcome.code, message: outcome.message } }, context), outcome.code, now);
    } else {
      state = 'canceled';
      this.opts.store.finish(job.id, state, null, 'canceled', now);
    }
    this.opts.events.publish(`job.${state}`, 'jobs', { id: job.id, service: job.service, state, attempts: job.attempts });
    const finished = this.opts.store.get(job.id);
    if (finished) this.opts.onFinished(finished);
  }
}
