/**
 * What the pipeline does with a refusal besides answering it: which error codes count towards the
 * client's lockout (and of which kind), and which are audited as denials (with their event type).
 */
import type { RefusalType } from '../audit/types.js';
import type { ErrorCode } from '../errors.js';
import type { LockoutKind } from '../security/lockout.js';

/**
 * Failures that count towards the client's lockout, each towards its own kind: a good token resets
 * token failures only, never the count of pairing codes guessed from the same address.
 */
export const LOCKOUT_KIND: Partial<Record<ErrorCode, LockoutKind>> = { token_invalid: 'token', pairing_code_invalid: 'pairing' };

/** Refusals that are audited as denials, with their event type. */
export const DENIAL_EVENTS: Partial<Record<ErrorCode, RefusalType>> = {
  auth_required: 'auth.failure',
  token_invalid: 'auth.failure',
  locked_out: 'auth.locked_out',
  scope_required: 'authz.denied',
  not_owner: 'authz.denied',
  self_review: 'authz.denied',
  host_not_allowed: 'guard.host',
  transfer_encoding_invalid: 'guard.framing',
  transfer_coding_unsupported: 'guard.framing',
  origin_not_allowed: 'guard.origin',
  rate_limited: 'ratelimit.refused',
  pairing_code_invalid: 'pairing.failure',
  session_invalid: 'auth.failure',
  csrf_refused: 'guard.csrf',
  overloaded: 'limit.inflight',
  concurrency_limited: 'limit.concurrency',
  too_many_streams: 'limit.streams',
  body_too_large: 'limit.body',
  headers_too_large: 'limit.headers',
  request_timeout: 'limit.timeout',
  audit_backlog: 'audit.backlog',
};
