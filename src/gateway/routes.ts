/**
 * What the routes get: the domain services of the house and small views of the gateway (status,
 * drain, live configuration, the audit log, the watch), as the interfaces of routes/deps.ts. Boot
 * values come from the boot snapshot; whatever follows a live key is read from `config()` per use.
 */
import { readAudit } from '../audit/read.js';
import type { AuditSink } from '../audit/event.js';
import type { AuditRecord } from '../audit/record.js';
import type { BootConfig } from '../config/live.js';
import type { Config } from '../config/schema.js';
import { MAX_WRITE_BYTES_CEILING } from '../config/sections/tools.js';
import { receiverFacts, receiverKey } from '../crypto/callback-signing.js';
import { TokenBound, type EndReason } from '../domain/identity/bound.js';
import { SESSION_ID_PREFIX, type SessionService } from '../domain/identity/sessions.js';
import type { TokenService } from '../domain/identity/tokens.js';
import type { Toolbox } from '../domain/tools/toolbox.js';
import type { Guards } from '../http/pipeline.js';
import type { HeldResponse } from '../security/inflight-limit.js';
import type { RouteDeps } from '../routes/index.js';
import { invokeBodyLimit } from '../routes/tools.js';
import type { House } from './house.js';
import type { Watch } from './watch.js';

/** Reads wait at most this long for what was recorded before them to reach the files. */
export const AUDIT_SETTLE_MS = 1000;

export interface RoutesContext {
  /** Restart-only values (limits, metrics). */
  boot: BootConfig;
  /** The live configuration, read at use time. */
  config: () => Readonly<Config>;
  house: House;
  toolbox: Toolbox;
  tokens: TokenService;
  sessions: SessionService | null;
  console: RouteDeps['console'];
  guards: Guards;
  audit: AuditSink;
  auditLog: AuditRecord;
  auditDir: string;
  watch: Watch;
  status: RouteDeps['status'];
  isDraining: () => boolean;
  liveConfig: RouteDeps['liveConfig'];
  verifyAudit: RouteDeps['audit']['verify'];
  /** Open event streams, closed when draining starts. */
  streams: Set<() => void>;
}

export function routeDeps(ctx: RoutesContext): Omit<RouteDeps, 'openapi'> {
  const { house, toolbox, boot, auditLog, audit } = ctx;
  // A stream came in with a token or a console session: it ends when that one stops working.
  const sessions = ctx.sessions;
  const bound = new TokenBound({
    isActive: (id) => (id.startsWith(`${SESSION_ID_PREFIX}_`) ? (sessions?.isActive(id) ?? false) : ctx.tokens.isActive(id)),
    onEnded: (fn: (id: string, reason: EndReason) => void) => {
      const offTokens = ctx.tokens.onEnded(fn);
      const offSessions = sessions?.onEnded(fn);
      return () => {
        offTokens();
        offSessions?.();
      };
    },
  });
  return {
    status: ctx.status,
    isDraining: ctx.isDraining,
    tokens: ctx.tokens,
    sessions,
    console: ctx.console,
    pairing: house.pairing,
    egress: { check: (url, purpose) => house.egress.check(url, purpose) },
    workspaces: toolbox.workspaces,
    tools: toolbox.tools,
    toolsBodyLimit: {
      now: () => invokeBodyLimit(boot.limits.maxBodyBytes, ctx.config().tools.maxWriteBytes),
      ceiling: invokeBodyLimit(boot.limits.maxBodyBytes, MAX_WRITE_BYTES_CEILING),
    },
    services: house.supervisor,
    proxy: house.proxy,
    jobs: house.jobs.jobs,
    schedules: house.jobs.scheduler,
    events: house.events,
    streams: {
      open: (res, state) => ctx.guards.inflight.openStream(state.principal, state.client, res as HeldResponse),
      track: (close) => {
        ctx.streams.add(close);
        return () => ctx.streams.delete(close);
      },
      bind: (principal, stream, close) =>
        bound.bind(principal, (reason) => {
          audit.record({ type: 'stream.ended', outcome: 'ok', actor: { id: principal?.id ?? '', name: principal?.name ?? '' }, detail: { stream, reason } });
          close(reason);
        }),
    },
    liveConfig: ctx.liveConfig,
    hooks: house.hooks.registry,
    hookReceiver: house.hooks.receiver,
    triggers: house.hooks.triggers,
    tasks: house.hooks.tasks,
    links: house.hooks.links,
    callbackSecret: (actor, receiver) => {
      audit.record({ type: 'callbacks.secret_read', outcome: 'ok', actor, detail: receiverFacts(receiver) });
      return receiverKey(house.callbackSecret, receiver);
    },
    audit: {
      read: async (after, limit) => {
        await auditLog.flushWithin(AUDIT_SETTLE_MS);
        return readAudit(ctx.auditDir, after, limit);
      },
      head: async () => {
        await auditLog.flushWithin(AUDIT_SETTLE_MS);
        const { main, security } = auditLog.heads;
        return { ...main, security };
      },
      verify: ctx.verifyAudit,
    },
    doctor: { run: () => ctx.watch.doctor.run(), fix: (actor) => ctx.watch.fix(actor) },
    metrics: { public: boot.metrics.public, text: () => ctx.watch.metrics() },
  };
}
