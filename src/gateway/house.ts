/**
 * The house behind the door, put together in dependency order: the egress guard, pairing, the
 * tools (with http.fetch through the egress guard), the services and their supervisor, the job
 * queue, and the hooks and tasks that submit to it. One lifecycle: built at boot, stopped before
 * the shutdown record (jobs in flight are left for recovery; supervised children stop).
 */
import type { AuditSink } from '../audit/event.js';
import type { BootPosture } from '../config/bind.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../domain/events/bus.js';
import { HooksModule } from '../domain/hooks/module.js';
import { PairingService } from '../domain/identity/pairing.js';
import type { SessionService } from '../domain/identity/sessions.js';
import type { TokenService } from '../domain/identity/tokens.js';
import { JobsModule } from '../domain/jobs/module.js';
import { jobServicePort } from '../domain/jobs/service-port.js';
import { apiRules, ServiceProxy, ServiceRegistry, Supervisor } from '../domain/services/index.js';
import type { Toolbox } from '../domain/tools/toolbox.js';
import { Egress, type Resolver } from '../egress/index.js';
import { UpstreamClient } from '../egress/upstream.js';
import type { Logger } from '../observe/logger.js';
import { loadOrCreateKey } from '../store/files.js';
import type { Db } from '../store/sqlite/database.js';
import { sqliteHookStore } from '../store/sqlite/hooks.js';
import { sqlitePairingStore } from '../store/sqlite/identity.js';
import { sqliteJobStore } from '../store/sqlite/jobs.js';
import { sqliteRunStore } from '../store/sqlite/runs.js';
import { sqliteScheduleStore } from '../store/sqlite/schedules.js';
import { sqliteServiceStore } from '../store/sqlite/services.js';
import { sqliteTaskStore } from '../store/sqlite/tasks.js';

export interface HouseContext {
  config: () => Readonly<Config>;
  /** Where each config value came from (`services.<name>`: `runtime` for a live service). */
  sources: () => ReadonlyMap<string, string>;
  posture: BootPosture;
  db: Db;
  audit: AuditSink;
  log: Logger;
  now: () => number;
  events: EventBus;
  tokens: TokenService;
  /** Console sessions (null: the console is off). */
  sessions: SessionService | null;
  toolbox: Toolbox;
  egressResolver?: Resolver | undefined;
  /** The gateway's URL as this host reaches it (services post progress there), once listening. */
  localUrl: () => string | null;
  /** Base URL of signed action links. */
  linkBase: () => string;
}

export interface House {
  egress: Egress;
  pairing: PairingService;
  upstream: UpstreamClient;
  registry: ServiceRegistry;
  supervisor: Supervisor;
  proxy: ServiceProxy;
  jobStore: ReturnType<typeof sqliteJobStore>;
  jobs: JobsModule;
  hooks: HooksModule;
  events: EventBus;
  /** The per-install secret that signs callbacks, webhooks and security notices. */
  callbackSecret: string;
  stop(): Promise<void>;
}

/** Builds the house; if a part fails to start, the parts already started are stopped again. */
export async function buildHouse(ctx: HouseContext): Promise<House> {
  const started: Array<() => Promise<void> | void> = [];
  try {
    return await build(ctx, started);
  } catch (err) {
    for (const stop of started.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    throw err;
  }
}

async function build(ctx: HouseContext, started: Array<() => Promise<void> | void>): Promise<House> {
  const { db, audit, log, now, events, tokens, toolbox } = ctx;
  const config = ctx.config();
  const dataDir = config.dataDir;

  const egress = new Egress({ config: () => ctx.config().egress, audit, log, now, ...(ctx.egressResolver ? { resolver: ctx.egressResolver } : {}) });
  started.push(() => egress.stop());
  const pairing = new PairingService({
    store: sqlitePairingStore(db),
    tokens,
    sessions: ctx.sessions,
    audit,
    key: loadOrCreateKey(dataDir, 'pairing'),
    limits: () => ctx.config().pairing,
    // A sign-in link is opened on a phone as often as at the machine: the name it reaches (action links' base).
    signinBase: ctx.linkBase,
    publish: (type, data) => events.publish(type, 'pairing', data),
    now,
  });

  // http.fetch goes through the egress guard (purpose fetch) like every client-influenced request.
  await toolbox.start({ store: sqliteRunStore(db), audit, log, fetcher: egress });

  // The services known from the config file and the database, their children started.
  const upstream = new UpstreamClient(config.proxy);
  const rules = apiRules(config.supervisor);
  const sources = ctx.sources();
  const runtimeNames = new Set(config.services.map((s) => s.name).filter((n) => sources.get(`services.${n}`) === 'runtime'));
  const registry = new ServiceRegistry({ store: sqliteServiceStore(db), declared: config.services, runtimeNames, rules, env: process.env, log });
  const supervisor = new Supervisor({ registry, upstream, audit, log, dataDir, ...config.supervisor, rules, publish: (e) => events.publish(e.type, 'services', { ...e }) });
  started.push(() => upstream.close());
  await supervisor.start();
  started.push(() => supervisor.stop());
  const proxy = new ServiceProxy({ registry, supervisor, upstream, maxBodyBytes: config.proxy.maxBodyBytes, proto: ctx.posture.tls ? 'https' : 'http' });

  // Work for the services: the queue, dispatch, callbacks, notifications and schedules.
  const callbackSecret = loadOrCreateKey(dataDir, 'callback').toString('base64url');
  const jobStore = sqliteJobStore(db);
  const jobs = new JobsModule({
    jobStore,
    scheduleStore: sqliteScheduleStore(db),
    sealKey: loadOrCreateKey(dataDir, 'jobs'),
    callbackSecret,
    services: jobServicePort({ supervisor, upstream }),
    outbound: { request: (r) => egress.request(r), check: (url, purpose, who) => egress.screen(url, purpose, who) },
    events,
    audit,
    log,
    config: ctx.config,
    progressBase: ctx.localUrl,
    workspaceOf: (runId) => {
      try {
        return toolbox.workspaces.workspacePathOf(runId);
      } catch {
        return null;
      }
    },
    checkRun: (runId, by) => void toolbox.workspaces.workspacePathOf(runId, by),
    now,
  });
  const recovered = await jobs.start();
  started.push(() => jobs.stop());
  if (recovered.requeued + recovered.failed > 0) {
    log.warn(recovered, 'jobs left in flight by the previous run were recovered');
    audit.record({ type: 'jobs.recovered', outcome: 'ok', detail: { ...recovered } });
  }

  // The way in: hooks, triggers, tasks and action links, submitting to the queue above.
  const hooks = new HooksModule({
    hookStore: sqliteHookStore(db),
    taskStore: sqliteTaskStore(db),
    keys: { hooks: loadOrCreateKey(dataDir, 'hooks'), tasks: loadOrCreateKey(dataDir, 'tasks'), links: loadOrCreateKey(dataDir, 'links') },
    jobs: jobs.jobs,
    serviceExists: (name) => registry.get(name) !== undefined,
    events,
    audit,
    log,
    config: ctx.config,
    linkBase: ctx.linkBase,
    now,
  });
  await hooks.start();
  started.push(() => hooks.stop());

  let stopped: Promise<void> | null = null;
  return {
    egress,
    pairing,
    upstream,
    registry,
    supervisor,
    proxy,
    jobStore,
    jobs,
    hooks,
    events,
    callbackSecret,
    stop: () =>
      (stopped ??= (async () => {
        hooks.stop();
        await jobs.stop();
        await supervisor.stop().catch((err: unknown) => log.warn({ err }, 'supervisor stop failed'));
        await upstream.close();
        await egress.stop();
      })()),
  };
}
