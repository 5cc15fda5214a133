/**
 * Turns a verified delivery or a trigger call into work: fills the action's templates, then
 * submits a job or creates a task, at most once per delivery id. Replay and redelivery: the id is
 * remembered durably (hook_deliveries); a task and its delivery row commit in one transaction, a
 * job carries an Idempotency-Key derived from the delivery, so two deliveries racing, or a crash
 * between the job and the row, still make one job.
 */
import type { Config } from '../../config/schema.js';
import { hasCode } from '../../errors.js';
import type { HookStore } from '../../store/types.js';
import type { JobService, Submitter } from '../jobs/queue.js';
import { derivedKey, type TaskService } from '../tasks/service.js';
import type { Action } from '../../api/hooks.js';
import { checkSize, fillString, fillTemplate, type TemplateContext } from './template.js';

export interface Outcome {
  duplicate: boolean;
  job: string | null;
  task: string | null;
}

/** An action with its templates filled: what will be submitted or created. */
export type Prepared =
  | { type: 'job'; service: string; payload: unknown }
  | { type: 'task'; title: string; body: string | undefined; job: { service: string; payload: unknown } | undefined };

export interface ActionRunnerOptions {
  store: HookStore;
  jobs: Pick<JobService, 'submit'>;
  tasks: TaskService;
  config: () => Readonly<Config>;
  now?: () => number;
}

export class ActionRunner {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ActionRunnerOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
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
    const cfg = this.opts.config().inbound;
    this.opts.store.purge(now - cfg.dedupHours * 3_600_000, now - cfg.nonceHours * 3_600_000);
  }

  /** Fills the templates (literal substitution) and checks the size of the result. */
  prepare(action: Action, ctx: TemplateContext): Prepared {
    const max = this.opts.config().inbound.maxPayloadBytes;
    if (action.type === 'job') {
      const payload = action.payload === undefined ? null : fillTemplate(action.payload, ctx);
      checkSize(payload, max, 'job payload');
      return { type: 'job', service: action.service, payload };
    }
    const title = fillString(action.title, ctx).slice(0, 500) || '(untitled)';
    const body = action.body === undefined ? undefined : fillString(action.body, ctx);
    const job = action.job
      ? { service: action.job.service, payload: action.job.payload === undefined ? null : fillTemplate(action.job.payload, ctx) }
      : undefined;
    checkSize({ title, body, job }, max, 'task');
    return { type: 'task', title, body, job };
  }

  /**
   * Does the prepared work. With a delivery id (`dedup`), a second call within inbound.dedupHours
   * is a duplicate: nothing happens and the first outcome is returned.
   */
  async run(p: Prepared, by: Submitter, source: string, dedup?: { scope: string; id: string }): Promise<Outcome> {
    const now = this.now();
    const notBefore = now - this.opts.config().inbound.dedupHours * 3_600_000;
    const store = this.opts.store;
    if (dedup) {
      const seen = store.findDelivery(dedup.scope, dedup.id, notBefore);
      if (seen) return { duplicate: true, job: seen.jobId, task: seen.taskId };
    }
    if (p.type === 'job') {
      let result: Awaited<ReturnType<ActionRunnerOptions['jobs']['submit']>>;
      try {
        result = await this.opts.jobs.submit(
          { service: p.service, payload: p.payload },
          by,
          dedup ? derivedKey(`delivery:${dedup.scope}:${dedup.id}`) : undefined,
        );
      } catch (err) {
        // The same delivery id with another body (a sender reusing ids): still a redelivery, do nothing.
        if (dedup && hasCode(err, 'idempotency_conflict')) return { duplicate: true, job: null, task: null };
        throw err;
      }
      if (dedup) store.recordDelivery({ hook: dedup.scope, deliveryId: dedup.id, receivedAt: now, jobId: result.job.id, taskId: null }, notBefore);
      return { duplicate: result.replayed, job: result.job.id, task: null };
    }
    const claim = dedup
      ? (taskId: string) => store.recordDelivery({ hook: dedup.scope, deliveryId: dedup.id, receivedAt: now, jobId: null, taskId }, notBefore)
      : undefined;
    const task = this.opts.tasks.create({ title: p.title, body: p.body, job: p.job }, by, source, claim);
    if (task) return { duplicate: false, job: null, task: task.id };
    const seen = dedup ? store.findDelivery(dedup.scope, dedup.id, notBefore) : undefined;
    return { duplicate: true, job: seen?.jobId ?? null, task: seen?.taskId ?? null };
  }
}
