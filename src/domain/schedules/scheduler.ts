/**
 * Cron schedules that submit jobs. Times come from croner (cron expressions with an optional time
 * zone); the timers are ours, so that ticks missed while the gateway was down follow one
 * documented rule: `run-once` submits a single job at boot, `skip` waits for the next tick.
 * A schedule belongs to the principal that added it, and so do the jobs it submits: only it (and
 * admin, jobs:all) pauses, resumes, runs or deletes it, and sees those jobs' payloads and results.
 */
import { Cron } from 'croner';
import type { Config } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import type { AuditSink } from '../../audit/event.js';
import type { Logger } from '../../observe/logger.js';
import { sealJson, unsealJson } from '../../crypto/seal.js';
import type { ScheduleRecord, ScheduleStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import type { JobService, JobViewer } from '../jobs/queue.js';

export interface ScheduleInput {
  name: string;
  cron: string;
  timezone?: string | undefined;
  service: string;
  payload?: unknown;
  missed?: 'run-once' | 'skip' | undefined;
}

export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string | null;
  service: string;
  missed: 'run-once' | 'skip' | null;
  paused: boolean;
  lastRunAt: string | null;
  nextRunAt: string | null;
  createdAt: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Longest single wait; longer waits are re-armed (setTimeout holds 2^31-1 ms at most). */
const MAX_WAIT_MS = 3_600_000;

export interface SchedulerOptions {
  store: ScheduleStore;
  jobs: JobService;
  key: Buffer;
  events: EventBus;
  audit: AuditSink;
  log: Logger;
  config: () => Readonly<Config>;
  now?: () => number;
}

export class Scheduler {
  private readonly now: () => number;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = true;

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.now ?? Date.now;
  }

  private cron(s: { cron: string; timezone: string | null }): Cron {
    return new Cron(s.cron, { paused: true, ...(s.timezone ? { timezone: s.timezone } : {}) });
  }

  private nextRun(s: ScheduleRecord, after: number): number | null {
    return this.cron(s).nextRun(new Date(after))?.getTime() ?? null;
  }

  /** Applies the missed-tick rule, then arms a timer per active schedule. */
  start(): void {
    this.stopped = false;
    const now = this.now();
    for (const s of this.opts.store.list()) {
      if (s.paused) continue;
      const since = s.lastRunAt ?? s.createdAt;
      const due = this.nextRun(s, since);
      const rule = s.missed ?? this.opts.config().schedules.missed;
      if (due !== null && due <= now) {
        if (rule === 'run-once') void this.fire(s.name, 'missed').catch(() => undefined);
        else {
          this.opts.store.setLastRun(s.name, now);
          this.opts.log.info({ schedule: s.name }, 'missed schedule tick skipped');
        }
      }
      this.arm(s.name);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private arm(name: string): void {
    const existing = this.timers.get(name);
    if (existing) clearTimeout(existing);
    this.timers.delete(name);
    const s = this.opts.store.get(name);
    if (!s || s.paused || this.stopped) return;
    const now = this.now();
    const next = this.nextRun(s, Math.max(now, s.lastRunAt ?? 0));
    if (next === null) return;
    const wait = Math.max(0, next - now);
    const t = setTimeout(
      () => {
        this.timers.delete(name);
        if (wait > MAX_WAIT_MS) return this.arm(name);
        // The tick is recorded as run at its own time, even if the timer fired a hair early: the
        // next one armed is the tick after it, never the same one again. A failed submission was
        // logged and audited by fire(); the schedule goes on.
        void this.fire(name, 'tick', next)
          .catch(() => undefined)
          .finally(() => this.arm(name));
      },
      Math.min(wait, MAX_WAIT_MS),
    );
    t.unref();
    this.timers.set(name, t);
  }

  /** Submits the schedule's job now (a tick, a missed tick at boot, or run-now). */
  async fire(name: string, why: 'tick' | 'missed' | 'manual', tickAt?: number, viewer?: JobViewer): Promise<string> {
    const s = viewer ? this.requireOwned(name, viewer, 'run') : this.opts.store.get(name);
    if (!s) throw new GatewayError('not_found', `no schedule ${JSON.stringify(name)}`);
    this.opts.store.setLastRun(name, Math.max(this.now(), tickAt ?? 0));
    try {
      const { job } = await this.opts.jobs.submit(
        { service: s.service, payload: unsealJson(this.opts.key, s.payload, `schedule:${name}`) },
        // Its jobs are the schedule owner's: whoever added it sees their results.
        { id: `schedule:${name}`, name: `schedule ${name}`, owner: s.createdBy },
      );
      this.opts.events.publish('schedule.fired', 'schedules', { name, job: job.id, why });
      this.opts.audit.record({
        type: 'schedule.fired',
        outcome: 'ok',
        actor: { id: `schedule:${name}`, name },
        detail: { schedule: name, jobId: job.id, why },
      });
      return job.id;
    } catch (err) {
      this.opts.log.warn({ schedule: name, err }, 'schedule could not submit its job');
      this.opts.audit.record({
        type: 'schedule.fired',
        outcome: 'error',
        actor: { id: `schedule:${name}`, name },
        detail: { schedule: name, why, code: (err as { code?: string }).code },
      });
      throw err;
    }
  }

  add(input: ScheduleInput, by: { id: string }): ScheduleView {
    if (!NAME.test(input.name)) throw new GatewayError('validation_failed', 'name: 1-64 of a-z 0-9 . _ - (starting with a letter or digit)');
    if (this.opts.store.get(input.name)) throw new GatewayError('conflict', `a schedule named ${JSON.stringify(input.name)} exists`);
    if (!this.opts.jobs.hasService(input.service)) throw new GatewayError('service_not_found', `no service named ${JSON.stringify(input.service)}`);
    try {
      this.cron({ cron: input.cron, timezone: input.timezone ?? null }).nextRun();
    } catch (err) {
      throw new GatewayError('validation_failed', `cron/timezone: ${(err as Error).message}`);
    }
    const record: ScheduleRecord = {
      name: input.name,
      cron: input.cron,
      timezone: input.timezone ?? null,
      service: input.service,
      payload: sealJson(this.opts.key, input.payload ?? null, `schedule:${input.name}`),
      missed: input.missed ?? null,
      paused: false,
      lastRunAt: null,
      createdAt: this.now(),
      createdBy: by.id,
    };
    this.opts.store.insert(record);
    this.arm(record.name);
    this.opts.events.publish('schedule.added', 'schedules', { name: record.name, service: record.service });
    return this.view(record);
  }

  list(): ScheduleView[] {
    return this.opts.store.list().map((s) => this.view(s));
  }

  get(name: string): ScheduleView {
    const s = this.opts.store.get(name);
    if (!s) throw new GatewayError('not_found', `no schedule ${JSON.stringify(name)}`);
    return this.view(s);
  }

  /** The schedule, if `viewer` added it or reaches every one (admin, jobs:all); 404, or 403 not_owner. */
  private requireOwned(name: string, viewer: JobViewer, verb: string): ScheduleRecord {
    const s = this.opts.store.get(name);
    if (!s) throw new GatewayError('not_found', `no schedule ${JSON.stringify(name)}`);
    if (!viewer.all && s.createdBy !== viewer.id) {
      throw new GatewayError('not_owner', `schedule ${name} belongs to another principal; to ${verb} it you need scope jobs:all`, {
        extra: { scope: 'jobs:all' },
      });
    }
    return s;
  }

  setPaused(name: string, paused: boolean, viewer: JobViewer): ScheduleView {
    this.requireOwned(name, viewer, paused ? 'pause' : 'resume');
    if (!this.opts.store.setPaused(name, paused)) throw new GatewayError('not_found', `no schedule ${JSON.stringify(name)}`);
    if (!paused) this.opts.store.setLastRun(name, this.now());
    this.arm(name);
    this.opts.events.publish(paused ? 'schedule.paused' : 'schedule.resumed', 'schedules', { name });
    return this.get(name);
  }

  remove(name: string, viewer: JobViewer): void {
    this.requireOwned(name, viewer, 'delete');
    if (!this.opts.store.delete(name)) throw new GatewayError('not_found', `no schedule ${JSON.stringify(name)}`);
    this.arm(name);
    this.opts.events.publish('schedule.deleted', 'schedules', { name });
  }

  private view(s: ScheduleRecord): ScheduleView {
    const next = s.paused ? null : this.nextRun(s, Math.max(this.now(), s.lastRunAt ?? 0));
    return {
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      service: s.service,
      missed: s.missed,
      paused: s.paused,
      lastRunAt: s.lastRunAt === null ? null : new Date(s.lastRunAt).toISOString(),
      nextRunAt: next === null ? null : new Date(next).toISOString(),
      createdAt: new Date(s.createdAt).toISOString(),
    };
  }
}
