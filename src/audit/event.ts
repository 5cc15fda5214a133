/**
 * What an audit entry holds: who, what, from where and the outcome, never a secret, a body or a
 * query-string value. Headers pass through an allowlist and are truncated.
 */

export type AuditOutcome = 'ok' | 'denied' | 'error' | 'blocked';

export interface AuditEvent {
  /** Dotted kind: http.write, auth.failure, auth.lockout, ratelimit.refused, token.created, gateway.boot, ... */
  type: string;
  outcome: AuditOutcome;
  actor?: { id: string; name: string } | undefined;
  client?: string | undefined;
  requestId?: string | undefined;
  method?: string | undefined;
  /** The route pattern (e.g. /api/v1/tokens/:id), never the raw URL. */
  route?: string | undefined;
  status?: number | undefined;
  scope?: string | undefined;
  code?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Event-specific, non-secret facts (ids, names, counts, reasons). */
  detail?: Record<string, unknown> | undefined;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  ts: string;
  /** SHA-256 (hex) of the previous entry's line; the genesis entry points at 64 zeros. */
  prev: string;
}

/** Anything that takes audit events. record() never throws and never blocks. */
export interface AuditSink {
  record(event: AuditEvent): void;
  /** False when the write queue is full: writes are refused (audit_backlog) until it drains. */
  hasCapacity(): boolean;
}

export const AUDITED_HEADERS = ['user-agent', 'x-request-id', 'content-type', 'content-length', 'origin', 'idempotency-key', 'x-github-delivery', 'x-github-event'] as const;
const MAX_HEADER_CHARS = 200;

export function pickHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name of AUDITED_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    out ??= {};
    const s = Array.isArray(v) ? v.join(', ') : v;
    out[name] = s.length > MAX_HEADER_CHARS ? `${s.slice(0, MAX_HEADER_CHARS)}…` : s;
  }
  return out;
}
