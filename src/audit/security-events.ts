/**
 * Which audit events are security events: they are written to the security log as well, a chain
 * of its own with its own retention, so that no flood of refusals or requests can prune them from
 * the record (HABITS 25). Pure; the classification is the `security` column of the type table
 * (src/audit/types.ts), documented in docs/audit.md.
 */
import type { AuditEvent } from './event.js';
import { AUDIT_TYPES, type AuditTypeInfo } from './types.js';

/** Successful writes that change who may do what, or what runs: hooks, services, schedules, tokens, pairing, sessions, config. */
const SECURITY_WRITE = /^\/api\/v1\/(tokens|pairing-codes|pair|console|sessions|config|services|hooks|schedules|callbacks)(\/|$)/;

export function isSecurityEvent(e: AuditEvent): boolean {
  // A type outside the table only comes through a cast; record() never throws, so it is no security event.
  const security = (AUDIT_TYPES[e.type] as AuditTypeInfo | undefined)?.security ?? false;
  if (security === 'writes') return e.outcome === 'ok' && e.route !== undefined && SECURITY_WRITE.test(e.route);
  return security;
}
