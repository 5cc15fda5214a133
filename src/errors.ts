/**
 * The one error table: every stable error code with its HTTP status and title, and GatewayError.
 * Imports nothing. Codes are lowercase snake_case and never reused; docs/errors.md documents each.
 */

export const ERRORS = {
  // Input
  bad_request: { status: 400, title: 'Bad request' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  validation_failed: { status: 400, title: 'Request does not match the schema' },
  json_invalid: { status: 400, title: 'Malformed JSON body' },
  json_too_deep: { status: 400, title: 'JSON body nested too deeply' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  body_too_large: { status: 413, title: 'Body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  headers_too_large: { status: 431, title: 'Request headers too large' },
  transfer_encoding_invalid: { status: 400, title: 'Transfer-Encoding invalid' },
  transfer_coding_unsupported: { status: 501, title: 'Transfer coding not supported' },

  // The door
  auth_required: { status: 401, title: 'Authentication required' },
  token_invalid: { status: 401, title: 'Token invalid' },
  session_invalid: { status: 401, title: 'Session ended or expired' },
  scope_required: { status: 403, title: 'Scope required' },
  not_owner: { status: 403, title: 'Owned by another principal' },
  origin_not_allowed: { status: 403, title: 'Origin not allowed' },
  csrf_refused: { status: 403, title: 'Cross-site request refused' },
  host_not_allowed: { status: 421, title: 'Host not allowed' },
  pairing_code_invalid: { status: 403, title: 'Pairing code invalid' },
  locked_out: { status: 429, title: 'Locked out after repeated failures' },
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  overloaded: { status: 503, title: 'Too many requests in flight' },
  concurrency_limited: { status: 429, title: 'Too many requests in flight for this token or address' },
  too_many_streams: { status: 503, title: 'Too many open event streams' },
  draining: { status: 503, title: 'Gateway is shutting down' },

  // Configuration (boot refusals exit with status 78; the same codes answer PATCH /api/v1/config)
  config_invalid: { status: 400, title: 'Configuration invalid' },
  config_unsafe: { status: 409, title: 'Configuration unsafe' },
  restart_required: { status: 409, title: 'Change needs a restart' },

  // The way out (src/egress)
  egress_denied: { status: 403, title: 'Outbound request refused' },
  egress_failed: { status: 502, title: 'Outbound request failed' },
  egress_too_large: { status: 502, title: 'Outbound response too large' },
  egress_timeout: { status: 504, title: 'Outbound request timed out' },
  // Workspaces and tools (the way out)
  path_invalid: { status: 400, title: 'Path invalid' },
  path_outside_workspace: { status: 403, title: 'Path outside the workspace' },
  path_read_only: { status: 403, title: 'Path is read-only' },
  path_changed: { status: 409, title: 'Path changed during the call' },
  tool_denied: { status: 403, title: 'Tool denied by policy' },
  run_not_found: { status: 404, title: 'Run not found' },
  tool_unknown: { status: 404, title: 'No such tool' },
  file_too_large: { status: 413, title: 'File or range too large' },
  workspace_full: { status: 507, title: 'Workspace quota exceeded' },
  tool_failed: { status: 422, title: 'Tool failed' },
  tool_unavailable: { status: 503, title: 'Tool unavailable' },
  // The house: services and the reverse proxy
  service_not_found: { status: 404, title: 'No such service' },
  service_exists: { status: 409, title: 'Service already registered' },
  service_readonly: { status: 409, title: 'Service is declared in the config file' },
  service_target_refused: { status: 400, title: 'Service target not allowed' },
  service_command_refused: { status: 403, title: 'Command services cannot be registered through the API' },
  service_container_refused: { status: 403, title: 'Container services are declared in the config file only' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  upstream_failed: { status: 502, title: 'Service answered badly or broke off' },
  upstream_timeout: { status: 504, title: 'Service did not answer in time' },
  path_not_allowed: { status: 400, title: 'Path not forwarded to the service' },

  // Jobs
  idempotency_conflict: { status: 409, title: 'Idempotency-Key reused with another body' },

  // The way in: hooks, triggers, tasks, action links
  signature_invalid: { status: 401, title: 'Signature invalid' },
  verify_token_invalid: { status: 403, title: 'Verify token invalid' },
  hook_not_found: { status: 404, title: 'No such hook' },
  hook_exists: { status: 409, title: 'Hook already registered' },
  hook_readonly: { status: 409, title: 'Hook is declared in the config file' },
  trigger_not_found: { status: 404, title: 'No such trigger' },
  action_payload_too_large: { status: 413, title: 'Filled template too large' },
  task_not_found: { status: 404, title: 'No such task' },
  task_state_invalid: { status: 409, title: 'Task is not in a state that allows this' },
  self_review: { status: 403, title: 'A task is approved by someone other than its creator' },
  link_invalid: { status: 401, title: 'Action link invalid' },
  link_expired: { status: 401, title: 'Action link expired' },
  link_used: { status: 409, title: 'Action link already used' },
  link_stale: { status: 409, title: 'Action link is stale' },

  // Server
  internal: { status: 500, title: 'Internal error' },
  audit_backlog: { status: 503, title: 'Audit log backlog full' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface GatewayErrorOptions {
  /** Extra response headers (Retry-After, WWW-Authenticate, ...). */
  headers?: Record<string, string>;
  /** Extra, safe members for the problem body (e.g. `scope`, `errors`). Never secrets. */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/** An error with a stable code from ERRORS. `detail` is safe to show to the client. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly headers: Record<string, string> | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, options: GatewayErrorOptions = {}) {
    const entry = ERRORS[code];
    // A refusal is an answer, not a bug: no stack trace is captured for it (6-8 us each, paid per
    // refused request, which is what a flood of bad tokens or bad bodies consists of). An internal
    // error keeps its stack, and its cause keeps its own.
    const limit = Error.stackTraceLimit;
    if (code !== 'internal') Error.stackTraceLimit = 0;
    try {
      super(detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.status = entry.status;
    this.detail = detail ?? entry.title;
    this.headers = options.headers;
    this.extra = options.extra;
  }
}

/** Match errors on their code, never on instanceof (errors cross module and package copies). */
export function isGatewayError(err: unknown): err is GatewayError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'GatewayError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    Object.hasOwn(ERRORS, (err as { code: string }).code)
  );
}

export function hasCode(err: unknown, code: ErrorCode): boolean {
  return isGatewayError(err) && err.code === code;
}
