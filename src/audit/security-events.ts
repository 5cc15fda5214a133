/**
 * Which audit events are security events: they are written to the security log as well, a chain
 * of its own with its own retention, so that no flood of refusals or requests can prune them from
 * the record (HABITS 25). Pure; the list is documented in docs/audit.md.
 */
import type { AuditEvent } from './event.js';

/** Tokens, pairing, configuration, services, the audit itself (its key, anchors, rotations, gaps). */
const PREFIXES = ['token.', 'session.', 'audit.'];
const TYPES = new Set([
  'auth.lockout',
  'pairing.minted',
  'pairing.redeemed',
  'config.changed',
  'doctor.fixed',
  'datadir.mode_repaired',
  'callbacks.secret_read',
  'link.minted',
  'service.registered',
  'service.updated',
  'service.deleted',
  'service.failed',
  'service.orphan_stopped',
  'gateway.boot',
  'gateway.shutdown',
  'security.heartbeat',
]);
/** Refusals (counted, not kept): a refused write while the writer is behind is noise, not a security event. */
const EXCLUDED = new Set(['audit.backlog']);
/** Successful writes that change who may do what, or what runs: hooks, services, schedules, tokens, pairing, sessions, config. */
const SECURITY_WRITE = /^\/api\/v1\/(tokens|pairing-codes|pair|console|sessions|config|services|hooks|schedules|callbacks)(\/|$)/;

export function isSecurityEvent(e: AuditEvent): boolean {
  if (e.type === 'http.write') return e.outcome === 'ok' && e.route !== undefined && SECURITY_WRITE.test(e.route);
  if (EXCLUDED.has(e.type)) return false;
  return TYPES.has(e.type) || PREFIXES.some((p) => e.type.startsWith(p));
}
