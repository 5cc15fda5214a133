/**
 * createGateway(options): the one composition root, config -> store -> domain -> http. Owns the
 * lifecycle (constructor without side effects, validate(), start(), idempotent stop()) and the
 * files that tell clients where the gateway is (gateway.json). The CLI and the tests use it.
 */
import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AuditSink } from './audit/event.js';
import { readAudit } from './audit/read.js';
import { verifyAudit } from './audit/verify.js';
import { AuditLog, type ChainHead } from './audit/writer.js';
import { bootPosture, type BootPosture } from './config/bind.js';
import { loadConfig, type ConfigInput, type LoadedConfig } from './config/load.js';
import { changedPaths, checkPatchKeys, mergePatch, redact, runtimeFile, type Reconfigurable } from './config/live.js';
import { ConfigSchema } from './config/schema.js';
import type { Config } from './config/schema.js';
import { adminTokenPath, loadOrCreateAdminToken } from './domain/identity/admin-token.js';
import { PairingService } from './domain/identity/pairing.js';
import { TokenService } from './domain/identity/tokens.js';
import { Egress, compileEgressPolicy, type Resolver } from './egress/index.js';
import type { ToolService } from './domain/tools/registry.js';
import { Toolbox } from './domain/tools/toolbox.js';
import type { WorkspaceService } from './domain/workspaces/runs.js';
import { checkDeclaredServices, ServiceProxy, ServiceRegistry, Supervisor } from './domain/services/index.js';
import { UpstreamClient } from './egress/upstream.js';
import { GatewayError } from './errors.js';
import { buildApp } from './http/app.js';
import { createPipeline, type Guards } from './http/pipeline.js';
import { Listener, TLS_MIN_VERSION } from './http/server.js';
import { RENEW_WITHIN_DAYS, certificateNames, loadTls, namesOfCertificate, reissueSelfSigned, type TlsMaterial } from './http/tls.js';
import { createLogger, flushLogger, type Logger } from './observe/logger.js';
import { authenticate } from './security/authenticate.js';
import { authorize } from './security/authorize.js';
import { clientIp } from './security/client-ip.js';
import { hostGuard } from './security/host-guard.js';
import { inflightLimit } from './security/inflight-limit.js';
import { lockout } from './security/lockout.js';
import { originGuard } from './security/origin-guard.js';
import { rateLimit, rateLimitOptions } from './security/rate-limit.js';
import { isAcceptableSuppliedToken } from './security/tokens.js';
import { ensureDir, loadOrCreateKey, readIfExists, writeFileAtomic } from './store/files.js';
import { openDatabase, type Db } from './store/sqlite/database.js';
import { sqlitePairingStore, sqliteTokenStore } from './store/sqlite/identity.js';
import { sqliteRunStore } from './store/sqlite/runs.js';
import { sqliteServiceStore } from './store/sqlite/services.js';
import { sqliteJobStore } from './store/sqlite/jobs.js';
import { sqliteScheduleStore } from './store/sqlite/schedules.js';
import { EventBus } from './domain/events/bus.js';
import { JobsModule } from './domain/jobs/module.js';
import { jobServicePort } from './domain/jobs/service-port.js';
import { checkNtfyTopic } from './domain/jobs/ntfy-topic.js';
import { HooksModule } from './domain/hooks/module.js';
import { sqliteHookStore } from './store/sqlite/hooks.js';
import { sqliteTaskStore } from './store/sqlite/tasks.js';
import { Doctor, type FixReport, type Repairs, type RunningSources } from './domain/doctor/index.js';
import { Heartbeat } from './domain/doctor/heartbeat.js';
import { sendSecurityNotice } from './domain/doctor/notify.js';
import { SERVICE_STATES } from './domain/supervisor/status.js';
import { DoorCounters } from './observe/counters.js';
import { RequestMetrics } from './observe/request-metrics.js';

export interface GatewayOptions extends ConfigInput {
  /** Where JSON log lines go (default stderr). */
  logDestination?: DestinationStream;
  /** Clock for tests of expiry. */
  now?: () => number;
  /** Name resolver of the egress guard (tests); default: the system resolver. */
  egressResolver?: Resolver;
  /**
   * INTERNAL, for `npm run bench` only: requests and the domain record into this sink instead of
   * the audit log, to measure what auditing costs. Deliberately not a config key, env variable or
   * flag (nothing in src/cli passes it; a test checks): auditing cannot be turned off (invariant 5).
   */
  unsafeAuditSinkForBenchmarks?: AuditSink;
}

export interface GatewayInfo {
  url: string;
  pid: number;
  tlsFingerprint: string | null;
  startedAt: string;
}

export const GATEWAY_FILE = 'gateway.json';
const AUDIT_SETTLE_MS = 1000;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export class Gateway {
  private loaded: LoadedConfig | null = null;
  /** The live overrides in force (what config.runtime.json holds). */
  private runtimeOverrides: Record<string, unknown> = {};
  /** Parts that take live configuration changes (two-phase: prepare, then commit). */
  private readonly live: Reconfigurable[] = [];
  private postureValue: BootPosture | null = null;
  private guards: Guards | null = null;
  private logger: Logger | null = null;
  private db: Db | null = null;
  private app: FastifyInstance | null = null;
  private listener: Listener | null = null;
  private audit: AuditLog | null = null;
  private tokens: TokenService | null = null;
  private pairing: PairingService | null = null;
  private egressClient: Egress | null = null;
  private toolbox: Toolbox | null = null;
  private registry: ServiceRegistry | null = null;
  private supervisorInstance: Supervisor | null = null;
  private upstream: UpstreamClient | null = null;
  private jobsModule: JobsModule | null = null;
  private hooksModule: HooksModule | null = null;
  private hookWarnings: string[] = [];
  private heartbeat: Heartbeat | null = null;
  /** prom-client's registry, built (and prom-client loaded) on the first scrape. */
  private metricsRegistry: Promise<{ metrics(): Promise<string> }> | null = null;
  /** Refusals, lockouts and forwarded headers (the pipeline counts; metrics, doctor, heartbeat read). */
  private readonly counters = new DoorCounters();
  /** Requests by route and status class, and their latency (counted by the listener and the pipeline). */
  private readonly requests = new RequestMetrics();
  private readonly events = new EventBus();
  /** Closers of open event streams (SSE, WebSocket): ended when draining starts. */
  private readonly streams = new Set<() => void>();
  private tlsMaterial: TlsMaterial | null = null;
  private adminToken: string | null = null;
  private address: { host: string; port: number } | null = null;
  private startedAt = 0;
  private draining = false;
  private state: 'new' | 'validated' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: GatewayOptions = {}) {}

  get version(): string {
    return VERSION;
  }
  get config(): Readonly<Config> {
    if (!this.loaded) throw new Error('gateway not validated');
    return this.loaded.config;
  }
  get configSources(): LoadedConfig['sources'] {
    if (!this.loaded) throw new Error('gateway not validated');
    return this.loaded.sources;
  }
  get posture(): BootPosture {
    if (!this.postureValue) throw new Error('gateway not validated');
    return this.postureValue;
  }
  get dataDir(): string {
    return this.config.dataDir;
  }
  get url(): string {
    if (!this.address) throw new Error('gateway not started');
    const { host, port } = this.address;
    const h = host.includes(':') ? `[${host}]` : host;
    return `${this.posture.tls ? 'https' : 'http'}://${h}:${port}`;
  }
  get port(): number {
    if (!this.address) throw new Error('gateway not started');
    return this.address.port;
  }
  get token(): string {
    if (!this.adminToken) throw new Error('gateway not started');
    return this.adminToken;
  }
  get tlsFingerprint(): string | null {
    return this.tlsMaterial?.fingerprint ?? null;
  }
  get log(): Logger {
    if (!this.logger) throw new Error('gateway not validated');
    return this.logger;
  }
  get isDraining(): boolean {
    return this.draining;
  }
  /** The egress guard: the only client for outbound requests to client-influenced URLs. */
  get egress(): Egress {
    if (!this.egressClient) throw new Error('gateway not started');
    return this.egressClient;
  }
  /** Runs and their workspaces. */
  get workspaces(): WorkspaceService {
    if (!this.toolbox) throw new Error('gateway not validated');
    return this.toolbox.workspaces;
  }
  /** The tool registry (POST /api/v1/tools/invoke). */
  get tools(): ToolService {
    if (!this.toolbox) throw new Error('gateway not validated');
    return this.toolbox.tools;
  }
  /** Whether exec commands run in the bubblewrap sandbox, and why not (for moat doctor). */
  get sandboxAvailable(): { available: boolean; reason: string | null } {
    if (!this.toolbox) throw new Error('gateway not validated');
    return this.toolbox.sandboxStatus();
  }
  /** The service registry (config-file and API services). */
  get services(): ServiceRegistry {
    if (!this.registry) throw new Error('gateway not started');
    return this.registry;
  }
  /** The process supervisor: ensureRunning, start/stop/restart, state, logs. */
  get supervisor(): Supervisor {
    if (!this.supervisorInstance) throw new Error('gateway not started');
    return this.supervisorInstance;
  }

  /**
   * Loads the configuration, then again with the live overrides of <dataDir>/config.runtime.json
   * (written by PATCH /api/v1/config) as the last layer. A broken overrides file refuses the boot.
   */
  private loadWithRuntime(): LoadedConfig {
    const first = loadConfig(this.opts);
    const text = readIfExists(runtimeFile(first.config.dataDir));
    if (text === undefined) return first;
    let runtime: unknown;
    try {
      runtime = JSON.parse(text);
    } catch (err) {
      throw new GatewayError('config_invalid', `${runtimeFile(first.config.dataDir)} is not valid JSON (${(err as Error).message}); fix or remove it`);
    }
    checkPatchKeys(runtime, Object.keys(ConfigSchema.properties));
    this.runtimeOverrides = runtime as Record<string, unknown>;
    return loadConfig({ ...this.opts, runtime });
  }

  /** Loads and checks the configuration and the boot matrix; builds the guards (which check their options). */
  validate(): this {
    if (this.state !== 'new') return this;
    const loaded = this.loadWithRuntime();
    const config = loaded.config;
    const posture = bootPosture(config);
    if (config.auth.token !== undefined && !isAcceptableSuppliedToken(config.auth.token)) {
      throw new GatewayError('config_invalid', 'auth.token (--token/MOAT_TOKEN) must be 32-512 printable characters without spaces');
    }
    compileEgressPolicy(config.egress); // bad CIDRs or host patterns: config_invalid before anything opens
    // Mounts, client scope, tool names and exec env names are checked here, before any socket opens.
    const toolbox = new Toolbox({ config, sourceEnv: process.env, ...(this.opts.now ? { now: this.opts.now } : {}) });
    checkDeclaredServices(config.services);
    this.hookWarnings = HooksModule.check(config);
    checkNtfyTopic(config.notifications.ntfy?.topic);
    this.logger = createLogger({ level: config.logLevel, ...(this.opts.logDestination ? { destination: this.opts.logDestination } : {}) });
    const inflight = inflightLimit(config.limits);
    const lock = lockout({ ...config.lockout, maxClients: config.rateLimit.maxClients });
    this.guards = {
      inflight,
      host: hostGuard({ bindHost: config.host, bindClass: posture.bindClass, port: config.port, tls: posture.tls, publicNames: config.publicNames }),
      origin: originGuard({ allowedOrigins: config.allowedOrigins }),
      clientIp: clientIp({ trustedProxies: config.trustedProxies }),
      rateLimit: rateLimit(rateLimitOptions(config.rateLimit)),
      lockout: lock,
      authenticate: authenticate({ enabled: posture.auth, verifier: { verifyDigest: (d, n) => (this.tokens as TokenService).verifyDigest(d, n) } }),
      authorize: authorize(),
    };
    this.loaded = loaded;
    this.postureValue = posture;
    this.toolbox = toolbox;
    this.state = 'validated';
    return this;
  }

  async start(): Promise<this> {
    this.validate();
    if (this.state !== 'validated') throw new Error(`gateway cannot start from state ${this.state}`);
    this.state = 'starting';
    try {
      await this.boot();
      this.state = 'started';
    } catch (err) {
      // A boot that got as far as the audit log leaves a trace of its failure there.
      const code = (err as { code?: unknown }).code;
      this.audit?.record({ type: 'gateway.boot', outcome: 'error', detail: { ...this.postureDetail(), reason: typeof code === 'string' ? code : 'error' } });
      await this.teardown();
      this.state = 'stopped';
      throw err;
    }
    return this;
  }

  private async boot(): Promise<void> {
    const config = this.config;
    const posture = this.posture;
    const log = this.log;
    const now = this.opts.now ?? Date.now;
    const dataDir = config.dataDir;
    ensureDir(dataDir);
    this.refuseSecondGateway(dataDir);

    const auditDir = join(dataDir, 'audit');
    const auditLog = new AuditLog({ dir: auditDir, rotateBytes: config.audit.rotateBytes, keep: config.audit.keep, maxQueue: config.audit.maxQueue, log, now });
    await auditLog.start();
    this.audit = auditLog;
    const audit: AuditSink = this.opts.unsafeAuditSinkForBenchmarks ?? auditLog;
    if (audit !== auditLog) log.warn('audit sink replaced (benchmarks only): requests are not audited');

    this.db = openDatabase({ path: join(dataDir, 'moat.db') });
    const tokens = new TokenService({ store: sqliteTokenStore(this.db), audit, log, dataDir, now });
    this.tokens = tokens;
    if (config.auth.token !== undefined) {
      this.adminToken = config.auth.token;
      tokens.start({ token: config.auth.token, fromFile: false });
    } else {
      const file = loadOrCreateAdminToken(dataDir);
      if (file.replacedMalformed) log.warn({ path: file.path }, 'admin token file was malformed and has been replaced');
      if (file.repairedMode !== null) {
        log.warn({ path: file.path, mode: file.repairedMode.toString(8) }, 'admin token file was readable by others; mode set to 0600 (consider moat token rotate-admin)');
        auditLog.record({ type: 'datadir.mode_repaired', outcome: 'ok', detail: { file: 'gateway-token', was: file.repairedMode.toString(8) } });
      }
      this.adminToken = file.token;
      tokens.start({ token: file.token, fromFile: true });
    }
    const egress = (this.egressClient = new Egress({
      config: () => this.config.egress,
      audit,
      log,
      now,
      ...(this.opts.egressResolver ? { resolver: this.opts.egressResolver } : {}),
    }));
    const pairing = (this.pairing = new PairingService({
      store: sqlitePairingStore(this.db),
      tokens,
      audit,
      key: loadOrCreateKey(dataDir, 'pairing'),
      limits: () => this.config.pairing,
      now,
    }));

    const toolbox = this.toolbox as Toolbox;
    // http.fetch goes through the egress guard (purpose fetch) like every client-influenced request.
    await toolbox.start({ store: sqliteRunStore(this.db), audit, log, fetcher: egress });
    // The house: services known from the config file and the database, their children started.
    const upstream = (this.upstream = new UpstreamClient(config.proxy));
    const registry = (this.registry = new ServiceRegistry({ store: sqliteServiceStore(this.db), declared: config.services, log }));
    const events = this.events;
    const supervisor = (this.supervisorInstance = new Supervisor({
      registry,
      upstream,
      audit,
      log,
      dataDir,
      ...config.supervisor,
      publish: (e) => events.publish(e.type, 'services', { ...e }),
    }));
    await supervisor.start();
    const proxy = new ServiceProxy({ registry, supervisor, upstream, maxBodyBytes: config.proxy.maxBodyBytes, proto: posture.tls ? 'https' : 'http' });

    // Work for the services: the queue, dispatch, callbacks, notifications and schedules.
    const callbackSecret = loadOrCreateKey(dataDir, 'callback').toString('base64url');
    const jobStore = sqliteJobStore(this.db);
    const jobsModule = (this.jobsModule = new JobsModule({
      jobStore,
      scheduleStore: sqliteScheduleStore(this.db),
      sealKey: loadOrCreateKey(dataDir, 'jobs'),
      callbackSecret,
      services: jobServicePort({ supervisor, upstream }),
      outbound: { request: (r) => egress.request(r), check: (url, purpose) => egress.check(url, purpose) },
      events,
      audit,
      log,
      config: () => this.config,
      progressBase: () => (this.address ? this.localUrl() : null),
      workspaceOf: (runId) => {
        try {
          return toolbox.workspaces.workspacePathOf(runId);
        } catch {
          return null;
        }
      },
      checkRun: (runId, by) => void toolbox.workspaces.workspacePathOf(runId, by),
      now,
    }));
    const recovered = await jobsModule.start();
    if (recovered.requeued + recovered.failed > 0) {
      log.warn(recovered, 'jobs left in flight by the previous run were recovered');
      audit.record({ type: 'jobs.recovered', outcome: 'ok', detail: { ...recovered } });
    }

    // The way in: hooks, triggers, tasks and action links, submitting to the queue above.
    const hooksModule = (this.hooksModule = new HooksModule({
      hookStore: sqliteHookStore(this.db),
      taskStore: sqliteTaskStore(this.db),
      keys: { hooks: loadOrCreateKey(dataDir, 'hooks'), tasks: loadOrCreateKey(dataDir, 'tasks'), links: loadOrCreateKey(dataDir, 'links') },
      jobs: jobsModule.jobs,
      serviceExists: (name) => registry.get(name) !== undefined,
      events,
      audit,
      log,
      config: () => this.config,
      linkBase: () => this.linkBase(),
      now,
    }));
    await hooksModule.start();

    if (posture.tls) {
      this.tlsMaterial = loadTls({ dataDir, certPath: config.tls.cert, keyPath: config.tls.key, names: certificateNames(config.host, config.publicNames) });
    }
    const guards = this.guards as Guards;
    this.listener = new Listener({ tls: this.tlsMaterial, limits: config.limits, inflight: guards.inflight, requests: this.requests });
    const pipeline = createPipeline({ guards, tls: posture.tls, audit, log, isDraining: () => this.draining, counters: this.counters, now });
    // The audit chain against this gateway's head, after what was recorded before the call is written
    // (a stalled writer delays the answer by a second at most: the written head is what the files hold).
    const verifyRunning = async () => {
      await auditLog.flushWithin(AUDIT_SETTLE_MS);
      const head = auditLog.writtenHead;
      return { ...(await verifyAudit(auditDir, { head })), head };
    };
    const doctor = new Doctor({
      dataDir,
      now,
      renewWithinDays: RENEW_WITHIN_DAYS,
      running: this.doctorSources(verifyRunning),
      repairs: this.doctorRepairs(),
    });
    this.app = await buildApp({
      listener: this.listener,
      pipeline,
      log,
      bodyLimit: config.limits.maxBodyBytes,
      tls: posture.tls,
      version: VERSION,
      requests: this.requests,
      routes: {
        status: () => this.statusView(),
        isDraining: () => this.draining,
        tokens,
        pairing,
        egress: { check: (url, purpose) => egress.check(url, purpose) },
        workspaces: toolbox.workspaces,
        tools: toolbox.tools,
        toolsBodyLimit: Math.max(config.limits.maxBodyBytes, Math.ceil(config.tools.maxWriteBytes / 3) * 4 + 65_536),
        services: supervisor,
        proxy,
        jobs: jobsModule.jobs,
        schedules: jobsModule.scheduler,
        events,
        streams: {
          open: (res) => guards.inflight.openStream(res),
          track: (close) => {
            this.streams.add(close);
            return () => this.streams.delete(close);
          },
        },
        liveConfig: { view: () => this.configView(), patch: (patch, actor) => this.patchConfig(patch, actor) },
        hooks: hooksModule.registry,
        hookReceiver: hooksModule.receiver,
        triggers: hooksModule.triggers,
        tasks: hooksModule.tasks,
        links: hooksModule.links,
        callbackSecret: (actor) => {
          audit.record({ type: 'callbacks.secret_read', outcome: 'ok', actor });
          return callbackSecret;
        },
        // Each first lets what was recorded before the request reach the files.
        audit: {
          read: async (after, limit) => {
            await auditLog.flushWithin(AUDIT_SETTLE_MS);
            return readAudit(auditDir, after, limit);
          },
          head: async () => {
            await auditLog.flushWithin(AUDIT_SETTLE_MS);
            return auditLog.writtenHead;
          },
          verify: verifyRunning,
        },
        doctor: {
          run: () => doctor.run(),
          fix: (actor) => this.doctorFix(doctor, actor),
        },
        metrics: { public: config.metrics.public, text: () => this.metricsText(jobStore) },
      },
    });

    await this.app.listen({ host: config.host, port: config.port });
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('listener has no TCP address');
    this.address = { host: config.host, port: addr.port };
    guards.host.reconfigure({ bindHost: config.host, bindClass: posture.bindClass, port: addr.port, tls: posture.tls, publicNames: config.publicNames });
    this.startedAt = now();

    this.registerLiveParts(egress);

    const info: GatewayInfo = { url: this.url, pid: process.pid, tlsFingerprint: this.tlsFingerprint, startedAt: new Date(this.startedAt).toISOString() };
    writeFileAtomic(join(dataDir, GATEWAY_FILE), `${JSON.stringify(info, null, 2)}\n`, 0o600);

    const weakenings = [...posture.warnings, ...toolbox.warnings(), ...this.hookWarnings];
    for (const w of [...weakenings, ...this.loaded!.warnings]) log.warn(w);
    auditLog.record({
      type: 'gateway.boot',
      outcome: 'ok',
      detail: { ...this.postureDetail(), ...(weakenings.length > 0 ? { warnings: weakenings } : {}) },
    });
    // The first heartbeat comes right after the boot record (it walks the audit chain: a long log
    // makes start() resolve later; requests are already served meanwhile).
    this.heartbeat = new Heartbeat({
      intervalMs: config.heartbeat.intervalSeconds * 1000,
      doctor: () => doctor.run(),
      posture: () => ({ bind: this.bindLabel(), bindClass: posture.bindClass, tls: posture.tls, auth: posture.auth }),
      activity: () => ({ authFailures24h: this.counters.authFailures24h(now()), lockouts24h: this.counters.lockouts.last24h(now()) }),
      log,
      audit,
      notify: (notice) => sendSecurityNotice({ outbound: egress, config: () => this.config, secret: () => callbackSecret, log, now }, notice),
    });
    await this.heartbeat.start();
  }

  /** host:port as bound (IPv6 in brackets). */
  private bindLabel(): string {
    const host = this.config.host;
    return `${host.includes(':') ? `[${host}]` : host}:${this.address?.port ?? this.config.port}`;
  }

  /** What moat doctor reads from this gateway. */
  private doctorSources(verifyRunning: RunningSources['verifyAudit']): RunningSources {
    const tokens = this.tokens as TokenService;
    const auditLog = this.audit as AuditLog;
    return {
      config: () => this.config,
      sources: () => this.configSources,
      posture: () => this.posture,
      bind: () => this.bindLabel(),
      startedAt: () => this.startedAt,
      tlsMinVersion: TLS_MIN_VERSION,
      adminToken: () => ({ source: this.config.auth.token !== undefined ? 'operator' : 'file', operatorToken: this.config.auth.token ?? null, issuedAt: tokens.adminIssuedAt() }),
      isAdminToken: (secret) => tokens.isAdminSecret(secret),
      adminTokensWithoutExpiry: () => tokens.adminTokensWithoutExpiry().map((t) => ({ id: t.id, name: t.name })),
      services: () => this.services.list().map((r) => ({ name: r.def.name, baseUrl: r.def.baseUrl })),
      sandbox: () => this.sandboxAvailable,
      highRiskOpen: () => (this.toolbox as Toolbox).policy.openedHighRisk(),
      counters: this.counters,
      tls: () => {
        const m = this.tlsMaterial;
        return m ? { selfSigned: m.selfSigned, validTo: m.validTo, fingerprint: m.fingerprint, certPath: m.certPath, keyPath: m.keyPath } : null;
      },
      verifyAudit: verifyRunning,
      auditWriter: () => ({ backlog: auditLog.backlog, dropped: auditLog.droppedCount, maxQueue: this.config.audit.maxQueue }),
    };
  }

  /** Repairs a running gateway may make: the admin token by rotation (it works at once), the certificate for the next start. */
  private doctorRepairs(): Repairs {
    return {
      replaceTokenFile: () => {
        const tokens = this.tokens as TokenService;
        tokens.rotateAdmin({ id: 'doctor', name: 'moat doctor --fix' });
        const fresh = readIfExists(adminTokenPath(this.dataDir))?.trim();
        if (fresh) this.adminToken = fresh;
        return 'rotated the admin token: the new one is in gateway-token and works now; the old one no longer does';
      },
      reissueCertificate: () => {
        // Issued on the real clock: it is for real clients, whose clocks judge notBefore.
        const m = reissueSelfSigned(this.dataDir, certificateNames(this.config.host, this.config.publicNames));
        return `issued a new self-signed certificate (valid until ${m.validTo.toISOString().slice(0, 10)}, SHA-256 ${m.fingerprint}); restart moat to serve it`;
      },
    };
  }

  /** POST /api/v1/doctor/fix: repairs, audited with each action. */
  private async doctorFix(doctor: Doctor, actor: { id: string; name: string }): Promise<FixReport> {
    const result = await doctor.fix();
    if (result.actions.length > 0) {
      this.audit?.record({ type: 'doctor.fixed', outcome: result.actions.every((a) => a.ok) ? 'ok' : 'error', actor, detail: { actions: result.actions } });
    }
    return result;
  }

  /** GET /metrics: prom-client is loaded and the registry built on the first scrape (a gateway never scraped pays nothing). */
  private async metricsText(jobStore: ReturnType<typeof sqliteJobStore>): Promise<string> {
    this.metricsRegistry ??= import('./observe/metrics.js').then(({ createMetricsRegistry }) => {
      const guards = this.guards as Guards;
      const posture = this.posture;
      const rank = { ok: 0, warn: 1, fail: 2 } as const;
      return createMetricsRegistry({
        requests: this.requests,
        counters: this.counters,
        info: { version: VERSION, bindClass: posture.bindClass, tls: posture.tls, auth: posture.auth },
        inflight: () => ({ requests: guards.inflight.inflightCount(), streams: guards.inflight.streamCount() }),
        egressRefusals: () => this.egress.refusals(),
        toolDenials: () => this.tools.denials(),
        jobs: () => jobStore.countsByState(),
        services: () => this.supervisor.list().map((s) => ({ name: s.name, state: s.state, restarts: s.restarts })),
        serviceStates: SERVICE_STATES,
        audit: () => ({ backlog: this.audit?.backlog ?? 0, dropped: this.audit?.droppedCount ?? 0 }),
        doctorVerdict: () => {
          const v = this.heartbeat?.lastVerdict;
          return v === undefined || v === null ? null : rank[v];
        },
      });
    });
    return (await this.metricsRegistry).metrics();
  }

  /** What boot and shutdown records say about the gateway: version, bind, TLS, auth. */
  private postureDetail(): Record<string, unknown> {
    const posture = this.posture;
    return {
      version: VERSION,
      bind: `${this.config.host}:${this.address?.port ?? this.config.port}`,
      bindClass: posture.bindClass,
      tls: posture.tls,
      auth: posture.auth,
      pid: process.pid,
    };
  }

  /** The effective configuration with every secret redacted, and where each value came from. */
  configView(): { config: unknown; sources: Record<string, string> } {
    return { config: redact(this.config), sources: Object.fromEntries(this.configSources) };
  }

  /**
   * PATCH /api/v1/config: an RFC 7396 merge patch of the live keys. The whole result is validated
   * and every part prepares it first (any refusal changes nothing), the overrides are written to
   * <dataDir>/config.runtime.json, then every part commits, and the change is audited (keys only).
   */
  patchConfig(patch: unknown, actor: { id: string; name: string }): { config: unknown; sources: Record<string, string> } {
    checkPatchKeys(patch, Object.keys(ConfigSchema.properties));
    const runtime = mergePatch(this.runtimeOverrides, patch) as Record<string, unknown>;
    const loaded = loadConfig({ ...this.opts, runtime });
    const previous = this.config;
    const commits = this.live.map((part) => part.prepare(loaded.config, previous, actor));
    writeFileAtomic(runtimeFile(previous.dataDir), `${JSON.stringify(runtime, null, 2)}\n`, 0o600);
    this.loaded = loaded;
    this.runtimeOverrides = runtime;
    for (const commit of commits) commit();
    const keys = changedPaths(redact(previous), redact(loaded.config));
    this.audit?.record({ type: 'config.changed', outcome: 'ok', actor, detail: { keys } });
    this.log.info({ keys, actor: actor.id }, 'configuration changed');
    return this.configView();
  }

  /** The parts that take live changes; each refuses what the boot would refuse, for the same reason. */
  private registerLiveParts(egress: Egress): void {
    const guards = this.guards as Guards;
    const hostOptions = (c: Readonly<Config>) => ({ bindHost: c.host, bindClass: this.posture.bindClass, port: this.port, tls: this.posture.tls, publicNames: c.publicNames });
    const rateOptions = (c: Readonly<Config>) => rateLimitOptions(c.rateLimit);
    this.live.push(
      {
        name: 'boot matrix',
        prepare: (next) => {
          bootPosture(next);
          checkNtfyTopic(next.notifications.ntfy?.topic);
          return () => undefined;
        },
      },
      {
        name: 'guards',
        prepare: (next) => {
          // Built once to check them (config_invalid); the running guards swap in the same options.
          hostGuard(hostOptions(next));
          originGuard({ allowedOrigins: next.allowedOrigins });
          rateLimit(rateOptions(next));
          return () => {
            guards.host.reconfigure(hostOptions(next));
            guards.origin.reconfigure({ allowedOrigins: next.allowedOrigins });
            guards.rateLimit.reconfigure(rateOptions(next));
          };
        },
      },
      {
        name: 'egress',
        prepare: (next) => {
          compileEgressPolicy(next.egress);
          return () => egress.reconfigure();
        },
      },
      {
        name: 'hooks and triggers',
        prepare: (next) => (this.hooksModule as HooksModule).prepare(next),
      },
      {
        name: 'tools and mounts',
        prepare: (next) => (this.toolbox as Toolbox).prepare(next),
      },
      {
        name: 'services',
        prepare: (next, previous, actor) => {
          const defs = checkDeclaredServices(next.services);
          if (JSON.stringify(next.services) === JSON.stringify(previous.services)) return () => undefined;
          const supervisor = this.supervisor;
          return () => {
            supervisor.applyDeclared(defs, actor).catch((err: unknown) => this.log.error({ err }, 'applying the changed services failed'));
          };
        },
      },
    );
  }

  /** The gateway's URL as seen from this host (what supervised services post progress to). */
  localUrl(): string {
    if (!this.address) throw new Error('gateway not started');
    const { host, port } = this.address;
    const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    return `${this.posture.tls ? 'https' : 'http'}://${local.includes(':') ? `[${local}]` : local}:${port}`;
  }

  /**
   * Base URL of action links: tasks.linkBaseUrl, else the first publicNames entry (with this
   * gateway's scheme, and its port unless the entry names one), else the gateway's URL.
   */
  linkBase(): string {
    const configured = this.config.tasks.linkBaseUrl;
    if (configured !== undefined) return configured.replace(/\/+$/, '');
    const name = this.config.publicNames[0];
    if (name === undefined) return this.url;
    const scheme = this.posture.tls ? 'https' : 'http';
    return /:[0-9]+$/.test(name) && !name.endsWith(']') ? `${scheme}://${name}` : `${scheme}://${name}:${this.port}`;
  }

  /** Every registered route with its declared auth mode and scope. */
  routes(): Array<{ method: string; url: string; auth: string; scope: string | null }> {
    return [...(((this.app as unknown as { moatRoutes?: unknown[] })?.moatRoutes ?? []) as Array<{ method: string; url: string; auth: string; scope: string | null }>)];
  }

  /** A pairing code minted by the operator at the console (`moat serve --pair`). */
  mintPairingCode(input: { scopes: string[]; ttlSeconds?: number }): { code: string; expiresAt: string } {
    if (!this.pairing) throw new Error('gateway not started');
    return this.pairing.mint(input, { id: 'admin', name: 'moat serve --pair' });
  }

  /** One gateway per data dir: a live pid in gateway.json means another one is serving it. */
  private refuseSecondGateway(dataDir: string): void {
    const text = readIfExists(join(dataDir, GATEWAY_FILE));
    if (text === undefined) return;
    let pid: unknown;
    try {
      pid = (JSON.parse(text) as { pid?: unknown }).pid;
    } catch {
      return;
    }
    if (typeof pid !== 'number' || pid === process.pid) return;
    try {
      process.kill(pid, 0);
    } catch {
      return; // not running: a stale file from a crash
    }
    throw new GatewayError('config_invalid', `another gateway (pid ${pid}) is serving ${dataDir}; stop it or use another --data-dir`);
  }

  private statusView() {
    const now = this.opts.now ?? Date.now;
    return {
      version: VERSION,
      bind: { address: this.config.host, port: this.port, class: this.posture.bindClass },
      tls: { enabled: this.posture.tls, fingerprint: this.tlsFingerprint },
      auth: { enabled: this.posture.auth },
      uptimeSeconds: Math.round((now() - this.startedAt) / 1000),
    };
  }

  /**
   * Drains and stops: health turns 503, in-flight requests get up to drainTimeoutSeconds. The
   * shutdown record is the last entry, written with everything before it. Idempotent.
   */
  stop(reason = 'stop'): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === 'new' || this.state === 'validated') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopping = (async () => {
      this.state = 'stopping';
      this.draining = true;
      await this.heartbeat?.stop();
      // Event streams never finish on their own: they end now, and clients reconnect elsewhere.
      for (const close of [...this.streams]) close();
      const listener = this.listener;
      let drained = true;
      if (listener) {
        listener.stopAccepting();
        drained = await listener.waitForInflight(this.config.drainTimeoutSeconds * 1000);
        if (!drained) this.log.warn({ inflight: this.guards?.inflight.inflightCount() }, 'drain timeout: closing remaining connections');
        listener.destroyAll();
      }
      // Closing the app lets the last responses close (and be audited) before the shutdown record.
      await this.closeApp();
      await this.stopHouse();
      const now = this.opts.now ?? Date.now;
      this.audit?.record({
        type: 'gateway.shutdown',
        outcome: 'ok',
        detail: { ...this.postureDetail(), reason, drained, uptimeSeconds: Math.round((now() - this.startedAt) / 1000) },
      });
      await this.teardown();
      this.state = 'stopped';
    })();
    return this.stopping;
  }

  private async closeApp(): Promise<void> {
    if (this.app) await this.app.close().catch((err: unknown) => this.logger?.warn({ err }, 'close failed'));
    this.app = null;
  }

  /**
   * Jobs in flight are left for recovery at the next boot (docs/jobs.md), then the supervised
   * children stop (audited; none outlives moat). Before the shutdown record, so it stays last.
   */
  private async stopHouse(): Promise<void> {
    this.hooksModule?.stop();
    await this.jobsModule?.stop();
    await this.supervisorInstance?.stop().catch((err: unknown) => this.logger?.warn({ err }, 'supervisor stop failed'));
    await this.upstream?.close();
  }

  private async teardown(): Promise<void> {
    await this.heartbeat?.stop();
    await this.closeApp();
    await this.stopHouse();
    this.tokens?.stop();
    await this.egressClient?.stop();
    this.toolbox?.stop();
    await this.audit?.stop();
    this.db?.close();
    this.db = null;
    const file = this.loaded ? join(this.config.dataDir, GATEWAY_FILE) : null;
    if (file) {
      const text = readIfExists(file);
      if (text && (JSON.parse(text) as { pid?: number }).pid === process.pid) unlinkSync(file);
    }
    if (this.logger) flushLogger(this.logger);
  }
}

/** Walks the audit chain of a data dir (moat audit verify), against a running gateway's head if given. */
export function verifyAuditDir(dataDir: string, head?: ChainHead) {
  return verifyAudit(join(dataDir, 'audit'), head ? { head } : {});
}

/** The pid in <dataDir>/gateway.json if that process is alive (a gateway serves the data dir). */
export function runningGatewayPid(dataDir: string): number | null {
  let pid: unknown;
  try {
    pid = (JSON.parse(readIfExists(join(dataDir, GATEWAY_FILE)) ?? 'null') as { pid?: unknown } | null)?.pid;
  } catch {
    return null;
  }
  if (typeof pid !== 'number') return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/**
 * moat doctor with no gateway answering: the checks the data dir can answer (modes, the token file,
 * the self-signed certificate, the audit chain) and, with `fix`, their repairs. While a gateway
 * still serves the data dir the token file is left to it (a new token would not be one it knows).
 */
export async function doctorOffline(dataDir: string, opts: { fix: boolean }): Promise<FixReport> {
  const live = runningGatewayPid(dataDir);
  const doctor = new Doctor({
    dataDir,
    now: Date.now,
    renewWithinDays: RENEW_WITHIN_DAYS,
    running: null,
    repairs: {
      replaceTokenFile: () => {
        if (live !== null) throw new GatewayError('conflict', `a gateway (pid ${live}) serves this data dir: restart it (it replaces a malformed token file at boot)`);
        loadOrCreateAdminToken(dataDir);
        return 'wrote a new admin token to gateway-token (the malformed one is gone)';
      },
      reissueCertificate: () => {
        const pem = readIfExists(join(dataDir, 'tls', 'cert.pem'));
        const names = pem === undefined ? certificateNames('127.0.0.1', []) : namesOfCertificate(pem);
        const m = reissueSelfSigned(dataDir, names);
        const restart = live !== null ? '; restart moat to serve it' : '';
        return `issued a new self-signed certificate for ${names.join(', ')} (valid until ${m.validTo.toISOString().slice(0, 10)}, SHA-256 ${m.fingerprint})${restart}`;
      },
    },
  });
  return opts.fix ? doctor.fix() : { actions: [], report: await doctor.run() };
}

export function createGateway(options: GatewayOptions = {}): Gateway {
  return new Gateway(options).validate();
}

/** Mode bits of a path, or null if it does not exist (for doctor and tests). */
export function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
