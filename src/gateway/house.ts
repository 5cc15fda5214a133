/**
 * The house behind the door, put together in dependency order: the egress guard, pairing, the
 * tools (with http.fetch through the egress guard), the services and their supervisor, the job
 * queue, and the hooks and tasks that submit to it. Each long-lived part goes into the gateway's
 * one lifecycle list as it starts (so it stops in reverse: jobs in flight are left for recovery,
 * supervised children stop, all before the shutdown record). Reads live keys at use time.
 */
import type { AuditSink } from '../audit/event.js';
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
import type { Lifecycle } from './lifecycle.js';
import type { GatewayUrls } from './urls.js';

export interface HouseContext {
  /** The live configuration (read at use time). */
  config: () => Readonly<Config>;
  /** Where each config value came from (`services.<name>`: `runtime` for a live service). */
  sources: () => ReadonlyMap<string, string>;
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
  /** The gateway's URL as this host reaches it (services post progress there) and the base of action links. */
  urls: GatewayUrls;
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
}

/** Builds and starts the house, each long-lived part into `life` as it starts. */
export async function buildHouse(ctx: HouseContext, life: Lifecycle): Promise<House> {
  const { db, audit, log, now, events, tokens, toolbox } = ctx;
  // The services at boot: later changes reach the supervisor through the live list (gateway/live.ts).
  const config = ctx.config();
  const dataDir = config.dataDir;

  const egress = await life.part(
    'egress',
    () => new Egress({ config: () => ctx.config().egress, audit, log, now, ...(ctx.egressResolver ? { resolver: ctx.egressResolver } : {}) }),
    (e) => e.stop(),
  );
  const pairing = new PairingService({
    store: sqlitePairingStore(db),
    tokens,
    sessions: ctx.sessions,
    audit,
    key: loadOrCreateKey(dataDir, 'pairing'),
    limits: () => ctx.config().pairing,
    // A sign-in link is opened on a phone as often as at the machine: the name it reaches (action links' base).
    signinBase: () => ctx.urls.linkBase,
    publish: (type, data) => events.publish(type, 'pairing', data),
    now,
  });

  // http.fetch goes through the egress guard (purpose fetch) like every client-influenced request.
  await life.part(
    'tools',
    () => toolbox.start({ store: sqliteRunStore(db), audit, log, fetcher: egress }),
    () => toolbox.stop(),
  );

  // The services known from the config file and the database, their children started.
  const upstream = await life.part(
    'upstream',
    () => new UpstreamClient(config.proxy),
    (u) => u.close(),
  );
  const rules = apiRules(config.supervisor);
  const sources = ctx.sources();
  const runtimeNames = new Set(config.services.map((s) => s.name).filter((n) => sources.get(`services.${n}`) === 'runtime'));
  const registry = new ServiceRegistry({ store: sqliteServiceStore(db), declared: config.services, runtimeNames, rules, env: process.env, log });
  const supervisor = new Supervisor({
    registry,
    upstream,
    audit,
    log,
    dataDir,
    ...config.supervisor,
    rules,
    publish: (e) => events.publish(e.type, 'services', { ...e }),
  });
  await life.part(
    'supervisor',
    () => supervisor.start(),
    () => supervisor.stop(),
  );
  const proxy = new ServiceProxy({ registry, supervisor, upstream, maxBodyBytes: config.proxy.maxBodyBytes, proto: ctx.urls.scheme });

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
    progressBase: () => ctx.urls.local,
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
  const recovered = await life.part(
    'jobs',
    () => jobs.start(),
    () => jobs.stop(),
  );
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
    linkBase: () => ctx.urls.linkBase,
    // A scoped token revoked or expired takes its links with it (the admin token is rotated, not
    // revoked; a console session's links outlive its idle end).
    minterRevoked: (id) => id.startsWith('tok_') && !tokens.isActive(id),
    now,
  });
  await life.part(
    'hooks',
    () => hooks.start(),
    () => hooks.stop(),
  );

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
  };
}
