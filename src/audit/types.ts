/**
 * Every audit event type, in one table with what the record does with it: whether it goes to the
 * security log too, and whether it is a refusal (counted per client and window, not written one by
 * one). test/unit/audit.types.test.ts holds it against docs/audit.md both ways. Data only.
 */

export interface AuditTypeInfo {
  /**
   * Also written to the security log (src/audit/security-events.ts), whose retention no flood can
   * prune: always, never, or `writes`: when it is a successful write to a route that changes who may
   * do what or what runs (http.write only).
   */
  readonly security: boolean | 'writes';
  /** A refusal: counted per client, actor, type and code over a window (src/audit/refusals.ts). */
  readonly refusal: boolean;
}

const REFUSAL = { security: false, refusal: true } as const;
const SECURITY = { security: true, refusal: false } as const;
const PLAIN = { security: false, refusal: false } as const;

export const AUDIT_TYPES = {
  // Requests and the guard chain.
  'http.write': { security: 'writes', refusal: false },
  'auth.failure': REFUSAL,
  'auth.lockout': { security: true, refusal: true },
  'auth.locked_out': REFUSAL,
  'authz.denied': REFUSAL,
  'ratelimit.refused': REFUSAL,
  'guard.host': REFUSAL,
  'guard.origin': REFUSAL,
  'guard.framing': REFUSAL,
  /** A request with the console's session cookie that did not come from the console's own pages. */
  'guard.csrf': REFUSAL,
  'limit.inflight': REFUSAL,
  'limit.concurrency': REFUSAL,
  'limit.streams': REFUSAL,
  'limit.body': REFUSAL,
  'limit.headers': REFUSAL,
  'limit.timeout': REFUSAL,
  // Identity.
  'pairing.minted': SECURITY,
  'pairing.redeemed': SECURITY,
  'pairing.failure': REFUSAL,
  'token.created': SECURITY,
  'token.revoked': SECURITY,
  'token.rotated': SECURITY,
  'stream.ended': PLAIN,
  // Console sessions.
  'session.created': SECURITY,
  'session.signed_out': SECURITY,
  'session.revoked': SECURITY,
  'session.expired': SECURITY,
  // The way out.
  'egress.blocked': PLAIN,
  'egress.limit': PLAIN,
  'callback.failed': PLAIN,
  'callbacks.secret_read': SECURITY,
  // The house.
  'jobs.recovered': PLAIN,
  'schedule.fired': PLAIN,
  'service.registered': SECURITY,
  'service.updated': SECURITY,
  'service.deleted': SECURITY,
  'service.started': PLAIN,
  'service.restarted': PLAIN,
  'service.unhealthy': PLAIN,
  'service.crashed': PLAIN,
  'service.stopped': PLAIN,
  'service.failed': SECURITY,
  'service.orphan_stopped': SECURITY,
  'service.image_pulled': PLAIN,
  // The way in.
  'hook.delivery': PLAIN,
  'hook.handshake': PLAIN,
  'trigger.call': PLAIN,
  'task.review': PLAIN,
  'task.job_submit': PLAIN,
  'link.minted': SECURITY,
  'link.used': PLAIN,
  'link.refused': PLAIN,
  'run.created': PLAIN,
  'run.deleted': PLAIN,
  'tool.invoked': PLAIN,
  'tool.denied': PLAIN,
  // The watch and the lifecycle.
  'config.changed': SECURITY,
  'doctor.fixed': SECURITY,
  'datadir.mode_repaired': SECURITY,
  'security.heartbeat': SECURITY,
  'gateway.boot': SECURITY,
  'gateway.shutdown': SECURITY,
  // The record itself.
  'audit.rotated': SECURITY,
  'audit.recovered': SECURITY,
  /** A refused write while the writer is behind: noise, not a security event. */
  'audit.backlog': REFUSAL,
  'audit.dropped': SECURITY,
  'audit.key_created': SECURITY,
  'audit.keyed': SECURITY,
  'audit.anchor_mismatch': SECURITY,
} as const satisfies Record<string, AuditTypeInfo>;

export type AuditType = keyof typeof AUDIT_TYPES;

/** The types written through the refusal counter (the only ones it takes). */
export type RefusalType = { [K in AuditType]: (typeof AUDIT_TYPES)[K]['refusal'] extends true ? K : never }[AuditType];

/** Whether `type` is in the table (a log written by another version may hold others). */
export function isAuditType(type: string): type is AuditType {
  return Object.hasOwn(AUDIT_TYPES, type);
}
