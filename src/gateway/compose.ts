/**
 * The composition root: composeGateway() builds every part of a running gateway in dependency order
 * (record -> database -> tokens -> house -> http -> watch) into one typed, frozen record, starting
 * each long-lived part into the one lifecycle list as it goes (stopped in reverse; see lifecycle.ts).
 * Boot values come from the boot snapshot; whatever follows a live key reads `config.current`.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { dataDirPaths } from '../api/data-dir.js';
import type { FastifyInstance } from 'fastify';
import type { HeadAnchor } from '../audit/anchors.js';
import type { AuditSink } from '../audit/event.js';
import type { AuditRecord } from '../audit/record.js';
import type { BootPosture } from '../config/bind.js';
import type { BootConfig, Reconfigurable } from '../config/live.js';
import { EventBus } from '../domain/events/bus.js';
import { sendAnchorNotice } from '../domain/doctor/notify.js';
import { SessionService } from '../domain/identity/sessions.js';
import { TokenService } from '../domain/identity/tokens.js';
import type { Toolbox } from '../domain/tools/toolbox.js';
import { buildApp, type DeclaredRoute } from '../http/app.js';
import { createPipeline, type Guards } from '../http/pipeline.js';
import { Listener } from '../http/server.js';
import { certificateNames, loadTls, type TlsMaterial } from '../http/tls.js';
import { DoorCounters } from '../observe/counters.js';
import { flushLogger, type Logger } from '../observe/logger.js';
import { RequestMetrics } from '../observe/request-metrics.js';
import { authenticate } from '../security/authenticate.js';
import { ensureDir, writeFileAtomic } from '../store/files.js';
import { openDatabase, type Db } from '../store/sqlite/database.js';
import { sqliteTokenStore } from '../store/sqlite/identity.js';
import { sqliteSessionStore } from '../store/sqlite/sessions.js';
import { installAdminToken } from './admin.js';
import { defaultConsoleDir, loadConsoleAssets, noConsoleAssets } from './console-assets.js';
import { configApi, type LiveConfig } from './config.js';
import { drain, type DrainSummary } from './drain.js';
import { buildHouse, type House } from './house.js';
import type { Lifecycle } from './lifecycle.js';
import { liveParts } from './live.js';
import { gatewayFilePid, refuseSecondGateway } from './offline.js';
import type { Plan } from './plan.js';
import { openRecord } from './record.js';
import { AUDIT_SETTLE_MS, routeDeps } from './routes.js';
import { postureDetail, statusView, uptimeSeconds } from './status.js';
import { GatewayUrls } from './urls.js';
import { createWatch, type Watch } from './watch.js';

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What the gateway knows of its own run: the composition reads it, the lifecycle methods set it. */
export interface RunState {
  /** Set by stop(): new requests hear 503 draining, and the drain part waits out the window. */
  draining: boolean;
  /** Why the gateway stops (stop(reason)); the shutdown record says it. */
  stopReason: string | null;
  /** Why start() failed; the boot record says it. */
  failure: { code: string } | null;
  /** When the listener came up (uptime). */
  startedAt: number;
}

/** Every part of a running gateway, built once. Tests and the CLI reach parts here, never by casts. */
export interface Parts extends Readonly<House> {
  readonly version: string;
  readonly config: LiveConfig;
  readonly posture: BootPosture;
  readonly log: Logger;
  readonly now: () => number;
  readonly urls: GatewayUrls;
  /** Refusals, lockouts and forwarded headers (the pipeline counts; metrics, doctor, heartbeat read). */
  readonly counters: DoorCounters;
  /** Requests by route and status class, and their latency. */
  readonly requests: RequestMetrics;
  /** Closers of open event streams (SSE, WebSocket): ended when draining starts. */
  readonly streams: Set<() => void>;
  readonly guards: Guards;
  /** The audit log itself, and the sink requests and the domain record into (the same but in benchmarks). */
  readonly record: AuditRecord;
  readonly audit: AuditSink;
  readonly db: Db;
  readonly tokens: TokenService;
  /** Console sessions (null: the console is off). */
  readonly sessions: SessionService | null;
  /** The admin token in force (it follows a rotation). */
  readonly adminToken: () => string;
  readonly toolbox: Toolbox;
  readonly tls: TlsMaterial | null;
  readonly listener: Listener;
  readonly app: FastifyInstance;
  /** Every registered route with its declared auth mode and scope. */
  readonly routes: readonly DeclaredRoute[];
  readonly watch: Watch;
  /** The parts that take live configuration changes (PATCH /api/v1/config), in the order they prepare. */
  readonly live: readonly Reconfigurable[];
}

export async function composeGateway(plan: Plan, life: Lifecycle, run: RunState): Promise<Parts> {
  const { config, posture, log, now, toolbox } = plan;
  const current = () => config.current;
  const boot: BootConfig = config.current;
  const dataDir = boot.dataDir;
  const counters = new DoorCounters();
  const requests = new RequestMetrics();
  const events = new EventBus();
  const streams = new Set<() => void>();
  const urls = new GatewayUrls({ host: boot.host, port: boot.port, tls: posture.tls, config: current });
  const facts = { version: VERSION, urls, posture };
  // Anchor notices go out through the egress guard, which starts after the record it notarizes.
  let anchorNotice: ((anchor: HeadAnchor) => Promise<void>) | null = null;
  let drained: DrainSummary | null = null;

  await life.part('log', () => log, flushLogger);
  // One gateway per data dir; gateway.json (written once listening) goes when the rest has stopped.
  await life.part(
    'data dir',
    () => {
      ensureDir(dataDir);
      refuseSecondGateway(dataDir);
    },
    () => {
      if (gatewayFilePid(dataDir) === process.pid) unlinkSync(dataDirPaths(dataDir).gatewayFile);
    },
  );
  // The record starts before the other parts and stops after them: its last entry says how the run ended.
  const record = await life.part(
    'audit',
    () => openRecord({ config: boot, log, now, counters, notify: () => anchorNotice }),
    async (r) => {
      if (run.stopReason !== null) {
        // Open refusal counts are written before the shutdown record, which stays the last entry.
        r.closeWindows();
        const d = drained ?? { drained: true, requests: { finished: 0, cut: 0 }, jobs: { finished: 0, rerun: 0 } };
        r.record({
          type: 'gateway.shutdown',
          outcome: 'ok',
          detail: { ...postureDetail(facts), reason: run.stopReason, ...d, uptimeSeconds: uptimeSeconds({ now, startedAt: () => run.startedAt }) },
        });
      } else if (run.failure) {
        r.record({ type: 'gateway.boot', outcome: 'error', detail: { ...postureDetail(facts), reason: run.failure.code } });
      }
      await r.stop();
    },
  );
  const audit: AuditSink = plan.benchmarkAuditSink ?? record;
  if (audit !== record) log.warn('audit sink replaced (benchmarks only): requests are not audited');

  // Acknowledged means on disk: every COMMIT syncs the WAL, so what moat said yes to (a job's 202,
  // say) survives a power cut or an OS crash too, not only a crash of moat. The job submissions of
  // one event-loop turn share one COMMIT, and so one sync (store/sqlite/group-commit.ts).
  const db = await life.part(
    'database',
    () => openDatabase({ path: dataDirPaths(dataDir).database, synchronous: 'full' }),
    (d) => {
      d.close();
    },
  );
  const tokens = new TokenService({ store: sqliteTokenStore(db), audit, log, dataDir, now });
  const adminToken = await life.part(
    'tokens',
    () => installAdminToken({ config: boot, log, tokens, audit: record, origin: plan.adminTokenOrigin }),
    () => tokens.stop(),
  );
  const sessions = boot.console.enabled
    ? await life.part(
        'sessions',
        () => {
          const limits = () => ({ idleSeconds: config.current.console.sessionIdleSeconds, maxAgeSeconds: config.current.console.sessionMaxAgeSeconds });
          const s = new SessionService({ store: sqliteSessionStore(db), audit, log, limits, tokens, now });
          s.start();
          return s;
        },
        (s) => s.stop(),
      )
    : null;
  const guards: Guards = {
    ...plan.guards,
    authenticate: authenticate({
      enabled: posture.auth,
      verifier: tokens,
      sessions: sessions ? { verifyDigest: (d, n) => sessions.verifyDigest(d, n) } : null,
      https: plan.https,
    }),
  };

  const house = await buildHouse(
    { config: current, sources: () => config.sources, db, audit, log, now, events, tokens, sessions, toolbox, egressResolver: plan.egressResolver, urls },
    life,
  );
  anchorNotice = (anchor) =>
    sendAnchorNotice({ outbound: house.egress, config: current, secret: () => house.callbackSecret, log, now }, anchor).then(() => undefined);

  // The certificate names the publicNames of the boot (a live change serves it until it is reissued).
  const tls = posture.tls
    ? loadTls({ dataDir, certPath: boot.tls.cert, keyPath: boot.tls.key, names: certificateNames(boot.host, config.current.publicNames) })
    : null;
  const listener = new Listener({ tls, limits: boot.limits, inflight: guards.inflight, requests });
  const pipeline = createPipeline({ guards, tls: posture.tls, audit, log, isDraining: () => run.draining, counters, now });
  // The audit chain against this gateway's head, after what was recorded before the call is written
  // (a stalled writer delays the answer by a second at most: the written head is what the files hold).
  const verifyAudit = () => record.verify(AUDIT_SETTLE_MS);
  const watch = createWatch({
    version: VERSION,
    dataDir,
    config: current,
    sources: () => config.sources,
    posture,
    now,
    log,
    audit,
    auditLog: record,
    tokens,
    toolbox,
    house,
    counters,
    requests,
    tls: () => tls,
    bind: () => urls.bind,
    startedAt: () => run.startedAt,
    inflight: () => guards.inflight.usage(),
    verifyAudit,
  });
  const live = liveParts({ guards, posture, urls, house, toolbox, log });
  // Built once: a spread followed by more properties costs microseconds per call on Node 20's V8.
  const statusFacts = { ...facts, host: boot.host, tlsFingerprint: tls?.fingerprint ?? null, startedAt: () => run.startedAt, now };
  const status = () => statusView(statusFacts);
  const routeParts = routeDeps({
    boot,
    config: current,
    house,
    toolbox,
    tokens,
    sessions,
    console: { enabled: boot.console.enabled, https: plan.https, assets: consoleAssets(plan, boot, log) },
    guards,
    audit,
    auditLog: record,
    auditDir: dataDirPaths(dataDir).auditDir,
    watch,
    status,
    isDraining: () => run.draining,
    liveConfig: configApi(config, live, record, log),
    verifyAudit,
    streams,
  });
  const { app, routes } = await life.part(
    'app',
    () =>
      buildApp({
        listener,
        pipeline,
        log,
        bodyLimit: boot.limits.maxBodyBytes,
        maxJsonDepth: boot.limits.maxJsonDepth,
        bodyIdleTimeoutMs: boot.limits.bodyIdleTimeoutMs,
        tls: posture.tls,
        version: VERSION,
        requests,
        routes: routeParts,
      }),
    // Closing the app lets the last responses close (and be audited) before the shutdown record.
    (built) => built.app.close(),
  );
  await life.part(
    'listener',
    async () => {
      await app.listen({ host: boot.host, port: boot.port });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') throw new Error('listener has no TCP address');
      urls.listening(addr.port);
      guards.host.reconfigure({
        bindHost: boot.host,
        bindClass: posture.bindClass,
        port: addr.port,
        tls: posture.tls,
        publicNames: config.current.publicNames,
      });
      run.startedAt = now();
    },
    // The end of the drain: what is left is cut (those jobs run again after the restart).
    () => {
      listener.stopAccepting();
      listener.destroyAll();
    },
  );
  // Stopped before the listener closes: for drainTimeoutSeconds the port stays open (503 draining).
  await life.part(
    'drain',
    () => undefined,
    async () => {
      if (run.draining) drained = await drain({ listener, jobs: house.jobs, streams, windowMs: boot.drainTimeoutSeconds * 1000, log });
    },
  );

  const info = { url: urls.url, pid: process.pid, tlsFingerprint: tls?.fingerprint ?? null, startedAt: new Date(run.startedAt).toISOString() };
  writeFileAtomic(dataDirPaths(dataDir).gatewayFile, `${JSON.stringify(info, null, 2)}\n`, 0o600);
  const weakenings = [...posture.warnings, ...toolbox.warnings(), ...plan.hookWarnings];
  for (const w of [...weakenings, ...config.warnings]) log.warn(w);
  record.record({ type: 'gateway.boot', outcome: 'ok', detail: { ...postureDetail(facts), ...(weakenings.length > 0 ? { warnings: weakenings } : {}) } });
  // The first heartbeat comes right after the boot record (it walks the audit chain: a long log
  // makes start() resolve later; requests are already served meanwhile).
  await life.part(
    'heartbeat',
    () => watch.heartbeat.start(),
    () => watch.heartbeat.stop(),
  );

  return Object.freeze({
    ...house,
    version: VERSION,
    config,
    posture,
    log,
    now,
    urls,
    counters,
    requests,
    streams,
    guards,
    record,
    audit,
    db,
    tokens,
    sessions,
    adminToken,
    toolbox,
    tls,
    listener,
    app,
    routes,
    watch,
    live,
  });
}

/** The built console, read into memory once (nothing when the console is off); an unbuilt one is logged. */
function consoleAssets(plan: Plan, boot: BootConfig, log: Logger) {
  if (!boot.console.enabled) return noConsoleAssets();
  const dir = plan.consoleAssets ?? defaultConsoleDir();
  const assets = loadConsoleAssets(dir);
  if (assets.index === null) log.warn({ dir }, 'the console is not built (no index.html): /console/ answers 404; npm run build writes it');
  return assets;
}
