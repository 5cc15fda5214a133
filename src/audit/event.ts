/**
 * What an audit entry holds: who, what, from where and the outcome, never a secret, a body or a
 * query-string value. Headers pass through an allowlist and are truncated.
 */
import type { Actor } from '../api/actor.js';
import type { AuditType, RefusalType } from './types.js';

export type AuditOutcome = 'ok' | 'denied' | 'error' | 'blocked';

export interface AuditEvent {
  /** Dotted kind, from the one table (src/audit/types.ts): http.write, auth.failure, token.created, ... */
  type: AuditType;
  outcome: AuditOutcome;
  actor?: Actor | undefined;
  client?: string | undefined;
  /** The gateway's own id of the request (the X-Request-Id of its response and `reqId` of its log line). */
  requestId?: string | undefined;
  /** The X-Request-Id the client sent, when it was sane (at most 128 of A-Z a-z 0-9 . _ : -); never used as the id. */
  clientRequestId?: string | undefined;
  method?: string | undefined;
  /** The route pattern (e.g. /api/v1/tokens/:id), never the raw URL. */
  route?: string | undefined;
  status?: number | undefined;
  scope?: string | undefined;
  code?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Event-specific, non-secret facts (ids, names, counts, reasons). */
  detail?: Record<string, unknown> | undefined;
  /** In the security log only: the seq of the same entry in the main log. */
  mainSeq?: number | undefined;
}

/** A refusal, for the refusal counter: its type is one the table marks as a refusal. */
export interface RefusalEvent extends AuditEvent {
  type: RefusalType;
}

/**
 * An entry as written, and as read back from a file: a log written by another version may hold
 * types this one does not know, so its type is only a string.
 */
export interface AuditEntry extends Omit<AuditEvent, 'type'> {
  type: string;
  seq: number;
  ts: string;
  /** Link of the previous entry (its mac; SHA-256 of the whole line for a legacy line); 64 zeros for the first. */
  prev: string;
  /** HMAC-SHA256 under the chain key of this line without `mac` (absent on lines written before the chain was keyed). */
  mac?: string;
}

/** Anything that takes audit events. record() never throws and never blocks. */
export interface AuditSink {
  record(event: AuditEvent): void;
  /** False when the write queue is full: writes are refused (audit_backlog) until it drains. */
  hasCapacity(): boolean;
  /**
   * A refusal: repeated ones from one client are counted into one entry per window rather than
   * written one by one. A sink without it records every refusal.
   */
  refused?(event: RefusalEvent): void;
}

export const AUDITED_HEADERS = ['user-agent', 'content-type', 'content-length', 'origin', 'idempotency-key', 'x-github-delivery', 'x-github-event'] as const;
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
