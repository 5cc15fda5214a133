/**
 * The work for the services, put together: the queue, the dispatcher, callbacks and notifications,
 * and the schedules, with one lifecycle. Recovery of jobs a dead gateway left in flight runs at
 * start, before anything is dispatched.
 */
import type { AuditSink } from '../../audit/event.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observe/logger.js';
import type { JobRecord, JobStore, ScheduleStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import { Scheduler } from '../schedules/scheduler.js';
import { Callbacks } from './callbacks.js';
import { Dispatcher } from './dispatcher.js';
import type { JobServicePort, OutboundPort } from './ports.js';
import { JobService } from './queue.js';

export interface JobsModuleOptions {
  jobStore: JobStore;
  scheduleStore: ScheduleStore;
  /** Per-install key sealing payloads and results at rest. */
  sealKey: Buffer;
  /** The callback signing secret (shown by `moat callbacks secret`). */
  callbackSecret: string;
  services: JobServicePort;
  outbound: OutboundPort;
  events: EventBus;
  audit: AuditSink;
  log: Logger;
  config: () => Readonly<Config>;
  progressBase: () => string | null;
  workspaceOf: (runId: string) => string | null;
  checkRun: (runId: string, by: { id: string; admin: boolean }) => void;
  now?: () => number;
}

export class JobsModule {
  readonly jobs: JobService;
  readonly dispatcher: Dispatcher;
  readonly callbacks: Callbacks;
  readonly scheduler: Scheduler;

  constructor(opts: JobsModuleOptions) {
    const now = opts.now ?? Date.now;
    const finished = (job: JobRecord) => this.callbacks.finished(job);
    this.jobs = new JobService({
      store: opts.jobStore,
      key: opts.sealKey,
      events: opts.events,
      services: opts.services,
      outbound: opts.outbound,
      config: opts.config,
      checkRun: opts.checkRun,
      onQueued: (service) => this.dispatcher.kick(service),
      onCancel: (job) => this.dispatcher.cancel(job),
      now,
    });
    this.dispatcher = new Dispatcher({
      store: opts.jobStore,
      jobs: this.jobs,
      services: opts.services,
      events: opts.events,
      key: opts.sealKey,
      log: opts.log,
      config: opts.config,
      progressBase: opts.progressBase,
      workspaceOf: opts.workspaceOf,
      onFinished: finished,
      now,
    });
    this.callbacks = new Callbacks({
      store: opts.jobStore,
      jobs: this.jobs,
      outbound: opts.outbound,
      secret: () => opts.callbackSecret,
      audit: opts.audit,
      log: opts.log,
      config: opts.config,
      now,
    });
    this.scheduler = new Scheduler({
      store: opts.scheduleStore,
      jobs: this.jobs,
      key: opts.sealKey,
      events: opts.events,
      audit: opts.audit,
      log: opts.log,
      config: opts.config,
      now,
    });
  }

  async start(): Promise<{ requeued: number; failed: number; canceled: number }> {
    this.jobs.start();
    // Undelivered callbacks of the last run first: the jobs recovery finishes send their own (once).
    this.callbacks.start();
    const recovered = await this.dispatcher.recover();
    this.dispatcher.start();
    this.scheduler.start();
    return recovered;
  }

  /**
   * The drain: schedules stop firing and no job is claimed; the jobs in flight get until
   * `deadlineMs` to finish. Says how many finished and how many will run again after the restart.
   */
  drain(deadlineMs: number): Promise<{ finished: number; rerun: number }> {
    this.scheduler.stop();
    return this.dispatcher.drain(deadlineMs);
  }

  async stop(): Promise<void> {
    this.scheduler.stop();
    await this.dispatcher.stop();
    this.callbacks.stop();
    this.jobs.stop();
  }
}
