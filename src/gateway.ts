/**
 * createGateway(options): the one composition root, config -> store -> domain -> http. Owns the
 * lifecycle (constructor without side effects, validate(), start(), idempotent stop()) and the
 * files that tell clients where the gateway is (gateway.json). The CLI and the tests use it.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AuditSink } from './audit/event.js';
import type { HeadAnchor } from './audit/anchors.js';
import type { AuditRecord } from './audit/record.js';
import { bootPosture, type BootPosture } from './config/bind.js';
import { changedPaths, checkPatchKeys, mergePatch, redact, restoreRedacted, runtimeFile, type Reconfigurable } from './config/live.js';
import { loadConfig, originOf, type ConfigInput, type LoadedConfig } from './config/load.js';
import { ConfigSchema, type Config } from './config/schema.js';
import { EventBus } from './domain/events/bus.js';
import { HooksModule } from './domain/hooks/module.js';
import { TokenService } from './domain/identity/tokens.js';
import { sendAnchorNotice } from './domain/doctor/notify.js';
import { checkNtfyTopic } from './domain/jobs/ntfy-topic.js';
import { checkDeclaredServices, type ServiceRegistry, type Supervisor } from './domain/services/index.js';
import { checkContainerHost } from './domain/supervisor/container-host.js';
import type { ToolService } from './domain/tools/registry.js';
import { Toolbox } from './domain/tools/toolbox.js';
import type { WorkspaceService } from './domain/workspaces/runs.js';
import { compileEgressPolicy, type Egress, type Resolver } from './egress/index.js';
import { GatewayError } from './errors.js';
import { installAdminToken } from './gateway/admin.js';
import { buildHouse, type House } from './gateway/house.js';
import { liveParts } from './gateway/live.js';
import { openRecord } from './gateway/record.js';
import { GATEWAY_FILE, gatewayFilePid, refuseSecondGateway } from './gateway/offline.js';
import { AUDIT_SETTLE_MS, routeDeps } from './gateway/routes.js';
import { createWatch, type Watch } from './gateway/watch.js';
import { buildApp } from './http/app.js';
import { createPipeline, type Guards } from './http/pipeline.js';
import { Listener } from './http/server.js';
import { certificateNames, loadTls, type TlsMaterial } from './http/tls.js';
import { DoorCounters } from './observe/counters.js';
import { createLogger, flushLogger, type Logger } from './observe/logger.js';
import { RequestMetrics } from './observe/request-metrics.js';
import { authenticate } from './security/authenticate.js';
import { authorize } from './security/authorize.js';
import { clientIp } from './security/client-ip.js';
import { framingGuard } from './security/framing-guard.js';
import { hostGuard } from './security/host-guard.js';
import { inflightLimit, inflightOptions } from './security/inflight-limit.js';
import { lockout } from './security/lockout.js';
import { memoryLimiterStore } from './security/limiter-store.js';
import { originGuard } from './security/origin-guard.js';
import { rateLimit, rateLimitOptions } from './security/rate-limit.js';
import { isAcceptableSuppliedToken } from './crypto/tokens.js';
import { ensureDir, readIfExists, writeFileAtomic } from './store/files.js';
import { openDatabase, type Db } from './store/sqlite/database.js';
import { sqliteTokenStore } from './store/sqlite/identity.js';
import type { Actor } from './api/actor.js';
import type { GatewayFile } from './api/data-dir.js';

export { GATEWAY_FILE, auditKeyInfo, doctorOffline, modeOf, offlineAuditPaths, runningGatewayPid, verifyAuditDir } from './gateway/offline.js';

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



const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export class Gateway {
  private loaded: LoadedConfig | null = null;
  /** The live overrides in force (what config.runtime.json holds). */
  private runtimeOverrides: Record<string, unknown> = {};
  /** Parts that take live configuration changes (two-phase: prepare, then commit). */
  private live: Reconfigurable[] = [];
  private postureValue: BootPosture | null = null;
  private guards: Guards | null = null;
  private logger: Logger | null = null;
  private db: Db | null = null;
  private app: FastifyInstance | null = null;
  private listener: Listener | null = null;
  private audit: AuditRecord | null = null;
  private tokens: TokenService | null = null;
  private toolbox: Toolbox | null = null;
  private hookWarnings: string[] = [];
  private house: House | null = null;
  private watch: Watch | null = null;
  /** Refusals, lockouts and forwarded headers (the pipeline counts; metrics, doctor, heartbeat read). */
  private readonly counters = new DoorCounters();
  /** Requests by route and status class, and their latency (counted by the listener and the pipeline). */
  private readonly requests = new RequestMetrics();
  private readonly events = new EventBus();
  /** Closers of open event streams (SSE, WebSocket): ended when draining starts. */
  private readonly streams = new Set<() => void>();
  private tlsMaterial: TlsMaterial | null = null;
  /** The admin token in force (it follows a rotation). */
  private adminToken: (() => string) | null = null;
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
    return `${this.posture.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  get port(): number {
    if (!this.address) throw new Error('gateway not started');
    return this.address.port;
  }
  get token(): string {
    if (!this.adminToken) throw new Error('gateway not started');
    return this.adminToken();
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
  private get started(): House {
    if (!this.house) throw new Error('gateway not started');
    return this.house;
  }
  /** The egress guard: the only client for outbound requests to client-influenced URLs. */
  get egress(): Egress {
    return this.started.egress;
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
    return this.started.registry;
  }
  /** The process supervisor: ensureRunning, start/stop/restart, state, logs. */
  get supervisor(): Supervisor {
    return this.started.supervisor;
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
      throw new GatewayError('config_invalid', `the admin token (${originOf('auth.token', loaded.sources.get('auth.token'))}) must be 32-512 printable characters without spaces`);
    }
    compileEgressPolicy(config.egress); // bad CIDRs or host patterns: config_invalid before anything opens
    // Mounts, client scope, tool names and exec env names are checked here, before any socket opens.
    const toolbox = new Toolbox({ config, sourceEnv: process.env, ...(this.opts.now ? { now: this.opts.now } : {}) });
    // Container services: the engine endpoint, volumes that exist, never the engine's socket or the data dir.
    checkContainerHost(checkDeclaredServices(config.services), { socket: config.supervisor.containers.socket, dataDir: config.dataDir });
    this.hookWarnings = HooksModule.check(config);
    checkNtfyTopic(config.notifications.ntfy?.topic, config.notifications.ntfy);
    this.logger = createLogger({ level: config.logLevel, format: config.logFormat, ...(this.opts.logDestination ? { destination: this.opts.logDestination } : {}) });
    this.guards = {
      framing: framingGuard(),
      inflight: inflightLimit(inflightOptions(config.limits)),
      host: hostGuard({ bindHost: config.host, bindClass: posture.bindClass, port: config.port, tls: posture.tls, publicNames: config.publicNames }),
      origin: originGuard({ allowedOrigins: config.allowedOrigins }),
      clientIp: clientIp({ trustedProxies: config.trustedProxies }),
      // One store behind both (in memory; a shared store for replicas implements LimiterStore).
      rateLimit: rateLimit(rateLimitOptions(config.rateLimit), memoryLimiterStore),
      lockout: lockout({ ...config.lockout, maxClients: config.rateLimit.maxClients }, memoryLimiterStore),
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
    refuseSecondGateway(dataDir);

    const auditDir = join(dataDir, 'audit');
    const notify = () => {
      const h = this.house;
      return h ? (anchor: HeadAnchor) => sendAnchorNotice({ outbound: h.egress, config: () => this.config, secret: () => h.callbackSecret, log, now }, anchor).then(() => undefined) : null;
    };
    const auditLog = (this.audit = await openRecord({ config, log, now, counters: this.counters, notify }));
    const audit: AuditSink = this.opts.unsafeAuditSinkForBenchmarks ?? auditLog;
    if (audit !== auditLog) log.warn('audit sink replaced (benchmarks only): requests are not audited');

    // Acknowledged means on disk: every COMMIT syncs the WAL, so what moat said yes to (a job's 202,
    // say) survives a power cut or an OS crash too, not only a crash of moat. The job submissions of
    // one event-loop turn share one COMMIT, and so one sync (store/sqlite/group-commit.ts).
    this.db = openDatabase({ path: join(dataDir, 'moat.db'), synchronous: 'full' });
    const tokens = (this.tokens = new TokenService({ store: sqliteTokenStore(this.db), audit, log, dataDir, now }));
    this.adminToken = installAdminToken({ config, log, tokens, audit: auditLog, origin: originOf('auth.token', this.configSources.get('auth.token')) });
    const toolbox = this.toolbox as Toolbox;
    const house = (this.house = await buildHouse({
      config: () => this.config,
      sources: () => this.configSources,
      posture,
      db: this.db,
      audit,
      log,
      now,
      events: this.events,
      tokens,
      toolbox,
      egressResolver: this.opts.egressResolver,
      localUrl: () => (this.address ? this.localUrl() : null),
      linkBase: () => this.linkBase(),
    }));

    if (posture.tls) {
      this.tlsMaterial = loadTls({ dataDir, certPath: config.tls.cert, keyPath: config.tls.key, names: certificateNames(config.host, config.publicNames) });
    }
    const guards = this.guards as Guards;
    this.listener = new Listener({ tls: this.tlsMaterial, limits: config.limits, inflight: guards.inflight, requests: this.requests });
    const pipeline = createPipeline({ guards, tls: posture.tls, audit, log, isDraining: () => this.draining, counters: this.counters, now });
    // The audit chain against this gateway's head, after what was recorded before the call is written
    // (a stalled writer delays the answer by a second at most: the written head is what the files hold).
    const verifyRunning = () => auditLog.verify(AUDIT_SETTLE_MS);
    const watch = (this.watch = createWatch({
      version: VERSION,
      dataDir,
      config: () => this.config,
      sources: () => this.configSources,
      posture,
      now,
      log,
      audit,
      auditLog,
      tokens,
      toolbox,
      house,
      counters: this.counters,
      requests: this.requests,
      tls: () => this.tlsMaterial,
      bind: () => this.bindLabel(),
      startedAt: () => this.startedAt,
      inflight: () => guards.inflight.usage(),
      verifyAudit: verifyRunning,
    }));
    this.app = await buildApp({
      listener: this.listener,
      pipeline,
      log,
      bodyLimit: config.limits.maxBodyBytes,
      maxJsonDepth: config.limits.maxJsonDepth,
      bodyIdleTimeoutMs: config.limits.bodyIdleTimeoutMs,
      tls: posture.tls,
      version: VERSION,
      requests: this.requests,
      routes: routeDeps({
        config,
        house,
        toolbox,
        tokens,
        guards,
        audit,
        auditLog,
        auditDir,
        watch,
        status: () => this.statusView(),
        isDraining: () => this.draining,
        liveConfig: { view: () => this.configView(), patch: (patch, actor) => this.patchConfig(patch, actor) },
        verifyAudit: verifyRunning,
        streams: this.streams,
      }),
    });

    await this.app.listen({ host: config.host, port: config.port });
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('listener has no TCP address');
    this.address = { host: config.host, port: addr.port };
    guards.host.reconfigure({ bindHost: config.host, bindClass: posture.bindClass, port: addr.port, tls: posture.tls, publicNames: config.publicNames });
    this.startedAt = now();
    this.live = liveParts({ guards, posture, port: addr.port, house, toolbox, log });

    const info: GatewayFile = { url: this.url, pid: process.pid, tlsFingerprint: this.tlsFingerprint, startedAt: new Date(this.startedAt).toISOString() };
    writeFileAtomic(join(dataDir, GATEWAY_FILE), `${JSON.stringify(info, null, 2)}\n`, 0o600);

    const weakenings = [...posture.warnings, ...toolbox.warnings(), ...this.hookWarnings];
    for (const w of [...weakenings, ...this.loaded!.warnings]) log.warn(w);
    auditLog.record({ type: 'gateway.boot', outcome: 'ok', detail: { ...this.postureDetail(), ...(weakenings.length > 0 ? { warnings: weakenings } : {}) } });
    // The first heartbeat comes right after the boot record (it walks the audit chain: a long log
    // makes start() resolve later; requests are already served meanwhile).
    await watch.heartbeat.start();
  }

  /** host:port as bound (IPv6 in brackets). */
  private bindLabel(): string {
    const host = this.config.host;
    return `${host.includes(':') ? `[${host}]` : host}:${this.address?.port ?? this.config.port}`;
  }

  /** What boot and shutdown records say about the gateway: version, bind, TLS, auth. */
  private postureDetail(): Record<string, unknown> {
    if (!this.postureValue || !this.loaded) return { version: VERSION, pid: process.pid };
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
  patchConfig(patch: unknown, actor: Actor): { config: unknown; sources: Record<string, string> } {
    checkPatchKeys(patch, Object.keys(ConfigSchema.properties));
    const runtime = mergePatch(this.runtimeOverrides, restoreRedacted(patch, this.config)) as Record<string, unknown>;
    const loaded = loadConfig({ ...this.opts, runtime });
    // Config-file services are read-only everywhere: a live entry may not redefine one.
    if (loaded.shadowedServices.length > 0) {
      throw new GatewayError('service_readonly', `${loaded.shadowedServices.map((n) => JSON.stringify(n)).join(', ')} declared in the config file; change it there (a live change adds or changes other services only)`);
    }
    const previous = this.config;
    const commits = this.live.map((part) => part.prepare(loaded.config, previous, actor));
    writeFileAtomic(runtimeFile(previous.dataDir), `${JSON.stringify(runtime, null, 2)}\n`, 0o600);
    this.loaded = loaded;
    this.runtimeOverrides = runtime;
    for (const commit of commits) commit();
    // Key paths of the real values (a changed secret shows as its key), never the values themselves.
    const keys = changedPaths(previous, loaded.config);
    this.audit?.record({ type: 'config.changed', outcome: 'ok', actor, detail: { keys } });
    this.log.info({ keys, actor: actor.id }, 'configuration changed');
    return this.configView();
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
   * gateway's port unless the name carries one), else the gateway's own URL.
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
    return this.started.pairing.mint(input, { id: 'admin', name: 'moat serve --pair' });
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
   * Drains and stops. For up to drainTimeoutSeconds the listener stays open: new requests hear 503
   * draining (health {"status":"draining"}), requests already admitted finish, and the jobs running
   * get the same window to finish (none is claimed any more). Then the listener closes, what is left
   * is cut (those jobs run again after the restart), and the shutdown record is the last entry,
   * written with everything before it. Idempotent.
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
      await this.watch?.heartbeat.stop();
      // Event streams never finish on their own: they end now, and clients reconnect elsewhere.
      for (const close of [...this.streams]) close();
      const listener = this.listener;
      const windowMs = this.config.drainTimeoutSeconds * 1000;
      const [requests, jobs] = await Promise.all([
        listener ? listener.drain(windowMs) : Promise.resolve({ finished: 0, cut: 0 }),
        this.house ? this.house.jobs.drain(windowMs) : Promise.resolve({ finished: 0, rerun: 0 }),
      ]);
      const drained = requests.cut === 0 && jobs.rerun === 0;
      this.log[drained ? 'info' : 'warn'](
        { requests, jobs },
        `drain ${drained ? 'done' : 'timeout: closing remaining connections'}: ${requests.finished} requests and ${jobs.finished} jobs finished; ${requests.cut} requests cut, ${jobs.rerun} jobs will re-run after the restart`,
      );
      listener?.stopAccepting();
      listener?.destroyAll();
      // Closing the app lets the last responses close (and be audited) before the shutdown record;
      // jobs still in flight are left for recovery and supervised children stop (audited) before it too.
      await this.closeApp();
      await this.house?.stop();
      const now = this.opts.now ?? Date.now;
      // Open refusal counts are written before the shutdown record, which stays the last entry.
      this.audit?.closeWindows();
      this.audit?.record({
        type: 'gateway.shutdown',
        outcome: 'ok',
        detail: { ...this.postureDetail(), reason, drained, requests, jobs, uptimeSeconds: Math.round((now() - this.startedAt) / 1000) },
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

  private async teardown(): Promise<void> {
    await this.watch?.heartbeat.stop();
    await this.closeApp();
    await this.house?.stop();
    this.tokens?.stop();
    this.toolbox?.stop();
    await this.audit?.stop();
    this.db?.close();
    this.db = null;
    if (this.loaded && gatewayFilePid(this.config.dataDir) === process.pid) unlinkSync(join(this.config.dataDir, GATEWAY_FILE));
    if (this.logger) flushLogger(this.logger);
  }
}

export function createGateway(options: GatewayOptions = {}): Gateway {
  return new Gateway(options).validate();
}
