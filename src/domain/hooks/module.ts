/**
 * The way in, put together: hooks (registry, receiver), triggers, tasks and their signed action
 * links, with one lifecycle. Built after the jobs module, whose queue it submits to.
 */
import type { AuditSink } from '../../audit/event.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observe/logger.js';
import type { HookStore, TaskStore } from '../../store/types.js';
import type { EventBus } from '../events/bus.js';
import type { JobService } from '../jobs/queue.js';
import { ActionLinks } from '../tasks/links.js';
import { TaskService } from '../tasks/service.js';
import { ActionRunner } from './actions.js';
import { HookReceiver } from './receiver.js';
import { HookRegistry } from './registry.js';
import { resolveSecretFiles } from './secret-file.js';
import { TriggerService } from './triggers.js';

export interface HooksModuleOptions {
  /** Both stores must share one database: a task and its delivery row commit in one transaction. */
  hookStore: HookStore;
  taskStore: TaskStore;
  keys: { hooks: Buffer; tasks: Buffer; links: Buffer };
  jobs: Pick<JobService, 'submit'>;
  serviceExists(name: string): boolean;
  events: EventBus;
  audit: AuditSink;
  log: Logger;
  config: () => Readonly<Config>;
  /** Base URL of action links. */
  linkBase: () => string;
  /** Whether a link's minter lost its authority (a revoked or expired token): its links stop acting. */
  minterRevoked?: (principalId: string) => boolean;
  now?: () => number;
}

export class HooksModule {
  readonly registry: HookRegistry;
  readonly tasks: TaskService;
  readonly links: ActionLinks;
  readonly actions: ActionRunner;
  readonly receiver: HookReceiver;
  readonly triggers: TriggerService;

  /** Boot checks of the config's hooks (their secret files read) and triggers; returns warnings to log. */
  static check(config: Readonly<Config>): string[] {
    TriggerService.check(config.triggers);
    const warnings = HookRegistry.check(resolveSecretFiles(config.hooks));
    if (config.inbound.acceptMoatV1)
      warnings.push('inbound.acceptMoatV1 is on: moat hooks accept v1 Moat-Signature, which any token with scope jobs on the sending moat can forge');
    return warnings;
  }

  constructor(opts: HooksModuleOptions) {
    const now = opts.now ?? Date.now;
    const config = opts.config();
    this.registry = new HookRegistry({ store: opts.hookStore, key: opts.keys.hooks, declared: resolveSecretFiles(config.hooks), now });
    this.tasks = new TaskService({
      store: opts.taskStore,
      key: opts.keys.tasks,
      jobs: opts.jobs,
      serviceExists: opts.serviceExists,
      allowSelfReview: () => opts.config().tasks.allowSelfReview,
      events: opts.events,
      audit: opts.audit,
      log: opts.log,
      now,
    });
    this.links = new ActionLinks({
      tasks: this.tasks,
      store: opts.taskStore,
      key: opts.keys.links,
      audit: opts.audit,
      baseUrl: opts.linkBase,
      defaultTtlSeconds: () => opts.config().tasks.linkTtlSeconds,
      ...(opts.minterRevoked ? { minterRevoked: opts.minterRevoked } : {}),
      now,
    });
    this.actions = new ActionRunner({ store: opts.hookStore, jobs: opts.jobs, tasks: this.tasks, config: opts.config, now });
    this.receiver = new HookReceiver({
      registry: this.registry,
      store: opts.hookStore,
      actions: this.actions,
      audit: opts.audit,
      log: opts.log,
      config: opts.config,
      now,
    });
    this.triggers = new TriggerService({ triggers: config.triggers, actions: this.actions, audit: opts.audit });
  }

  /** A live change (of anything): hooks and triggers checked like at boot, secret files read again, then put in force. */
  prepare(next: Readonly<Config>): () => void {
    const hooks = resolveSecretFiles(next.hooks);
    TriggerService.check(next.triggers);
    HookRegistry.check(hooks);
    return () => {
      this.registry.setDeclared(hooks);
      this.triggers.setTriggers(next.triggers);
    };
  }

  async start(): Promise<void> {
    this.actions.start();
    await this.tasks.start();
  }

  stop(): void {
    this.tasks.stop();
    this.actions.stop();
  }
}
