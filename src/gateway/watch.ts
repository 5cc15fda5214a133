/**
 * The watch, wired to a running gateway: what moat doctor reads and may repair, the heartbeat, and
 * the Prometheus registry (prom-client loaded on the first scrape: a gateway never scraped pays
 * nothing). Facts come in through small functions; nothing here reaches into the gateway.
 */
import type { AuditSink } from '../audit/event.js';
import { auditKeyPaths } from '../audit/key.js';
import type { AuditRecord } from '../audit/record.js';
import type { BootPosture } from '../config/bind.js';
import type { Config } from '../config/schema.js';
import { originOf, type LoadedConfig } from '../config/load.js';
import { Doctor, type FixReport, type RunningSources } from '../domain/doctor/index.js';
import { Heartbeat } from '../domain/doctor/heartbeat.js';
import { sendSecurityNotice } from '../domain/doctor/notify.js';
import type { TokenService } from '../domain/identity/tokens.js';
import { SERVICE_STATES } from '../domain/supervisor/status.js';
import type { Toolbox } from '../domain/tools/toolbox.js';
import { TLS_MIN_VERSION } from '../http/server.js';
import { RENEW_WITHIN_DAYS, certificateNames, reissueSelfSigned, type TlsMaterial } from '../http/tls.js';
import type { DoorCounters } from '../observe/counters.js';
import type { Logger } from '../observe/logger.js';
import type { InflightUsage } from '../observe/metrics.js';
import type { RequestMetrics } from '../observe/request-metrics.js';
import type { House } from './house.js';
import type { Actor } from '../api/actor.js';

export interface WatchContext {
  version: string;
  dataDir: string;
  config: () => Readonly<Config>;
  sources: () => LoadedConfig['sources'];
  posture: BootPosture;
  now: () => number;
  log: Logger;
  audit: AuditSink;
  auditLog: AuditRecord;
  tokens: TokenService;
  toolbox: Toolbox;
  house: House;
  counters: DoorCounters;
  requests: RequestMetrics;
  tls: () => TlsMaterial | null;
  bind: () => string;
  startedAt: () => number;
  /** In-flight budgets: use per class and the limits (GET /metrics). */
  inflight: () => InflightUsage;
  /** Walks the audit chain against this gateway's head. */
  verifyAudit: RunningSources['verifyAudit'];
}

export interface Watch {
  doctor: Doctor;
  heartbeat: Heartbeat;
  /** POST /api/v1/doctor/fix: repairs, audited with each action. */
  fix(actor: Actor): Promise<FixReport>;
  /** GET /metrics. */
  metrics(): Promise<string>;
}

export function createWatch(ctx: WatchContext): Watch {
  const { tokens, auditLog, house } = ctx;
  const doctor = new Doctor({
    dataDir: ctx.dataDir,
    auditPaths: auditKeyPaths(ctx.config().audit),
    now: ctx.now,
    renewWithinDays: RENEW_WITHIN_DAYS,
    running: {
      config: ctx.config,
      sources: ctx.sources,
      posture: () => ctx.posture,
      bind: ctx.bind,
      startedAt: ctx.startedAt,
      tlsMinVersion: TLS_MIN_VERSION,
      adminToken: () => {
        const supplied = ctx.config().auth.token;
        if (supplied === undefined) return { source: 'file', origin: null, operatorToken: null, issuedAt: tokens.adminIssuedAt() };
        return {
          source: 'operator',
          origin: originOf('auth.token', ctx.sources().get('auth.token')),
          operatorToken: supplied,
          issuedAt: tokens.adminIssuedAt(),
        };
      },
      isAdminToken: (secret) => tokens.isAdminSecret(secret),
      adminTokensWithoutExpiry: () => tokens.adminTokensWithoutExpiry().map((t) => ({ id: t.id, name: t.name })),
      services: () => house.registry.list().map((r) => ({ name: r.def.name, baseUrl: r.def.baseUrl })),
      sandbox: () => ctx.toolbox.sandboxStatus(),
      highRiskOpen: () => ctx.toolbox.policy.openedHighRisk(),
      counters: ctx.counters,
      tls: () => {
        const m = ctx.tls();
        return m ? { selfSigned: m.selfSigned, validTo: m.validTo, fingerprint: m.fingerprint, certPath: m.certPath, keyPath: m.keyPath } : null;
      },
      verifyAudit: ctx.verifyAudit,
      auditWriter: () => ({ backlog: auditLog.backlog, dropped: auditLog.droppedCount, maxQueue: ctx.config().audit.maxQueue }),
      containers: () => house.supervisor.engineFacts(),
    },
    // Repairs a running gateway may make: the admin token by rotation (it works at once), the certificate for the next start.
    repairs: {
      replaceTokenFile: () => {
        tokens.rotateAdmin({ id: 'doctor', name: 'moat doctor --fix' });
        return 'rotated the admin token: the new one is in gateway-token and works now; the old one no longer does';
      },
      reissueCertificate: () => {
        // Issued on the real clock: it is for real clients, whose clocks judge notBefore.
        const c = ctx.config();
        const m = reissueSelfSigned(ctx.dataDir, certificateNames(c.host, c.publicNames));
        return `issued a new self-signed certificate (valid until ${m.validTo.toISOString().slice(0, 10)}, SHA-256 ${m.fingerprint}); restart moat to serve it`;
      },
    },
  });

  const heartbeat = new Heartbeat({
    intervalMs: ctx.config().heartbeatInterval * 1000,
    doctor: () => doctor.run(),
    posture: () => ({ bind: ctx.bind(), bindClass: ctx.posture.bindClass, tls: ctx.posture.tls, auth: ctx.posture.auth }),
    activity: () => ({ authFailures24h: ctx.counters.authFailures24h(ctx.now()), lockouts24h: ctx.counters.lockouts.last24h(ctx.now()) }),
    log: ctx.log,
    audit: ctx.audit,
    notify: (notice) =>
      sendSecurityNotice({ outbound: house.egress, config: ctx.config, secret: () => house.callbackSecret, log: ctx.log, now: ctx.now }, notice),
  });

  let registry: Promise<{ metrics(): Promise<string> }> | null = null;
  const rank = { ok: 0, warn: 1, fail: 2 } as const;

  return {
    doctor,
    heartbeat,
    async fix(actor) {
      const result = await doctor.fix();
      if (result.actions.length > 0) {
        ctx.audit.record({ type: 'doctor.fixed', outcome: result.actions.every((a) => a.ok) ? 'ok' : 'error', actor, detail: { actions: result.actions } });
      }
      return result;
    },
    async metrics() {
      registry ??= import('../observe/metrics.js').then(({ createMetricsRegistry }) =>
        createMetricsRegistry({
          requests: ctx.requests,
          counters: ctx.counters,
          info: { version: ctx.version, bindClass: ctx.posture.bindClass, tls: ctx.posture.tls, auth: ctx.posture.auth },
          inflight: ctx.inflight,
          egressRefusals: () => house.egress.refusals(),
          toolDenials: () => ctx.toolbox.tools.denials(),
          jobs: () => house.jobStore.countsByState(),
          services: () => house.supervisor.list().map((s) => ({ name: s.name, state: s.state, restarts: s.restarts })),
          serviceStates: SERVICE_STATES,
          audit: () => ({ backlog: auditLog.backlog, dropped: auditLog.droppedCount }),
          doctorVerdict: () => {
            const v = heartbeat.lastVerdict;
            return v === undefined || v === null ? null : rank[v];
          },
        }),
      );
      return (await registry).metrics();
    },
  };
}
