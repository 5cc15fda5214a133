/**
 * What an attempt's answer means for its job: success, a permanent failure, a transient failure
 * worth another attempt (the service unreachable, 429, 502-504), a timeout, or a cancel. Pure
 * functions over the answer and the attempt's flags; no I/O.
 */
import { hasCode } from '../../errors.js';

export type Outcome =
  | { state: 'succeeded'; result: unknown }
  | { state: 'failed'; code: string; message: string }
  | { state: 'canceled' }
  | { state: 'retry'; code: string; message: string };

/** What happened to the attempt besides its answer. */
export interface AttemptFlags {
  canceled: boolean;
  timedOut: boolean;
  timeoutSeconds: number;
}

/** Answers worth another attempt: the service is overloaded, restarting or behind a proxy that is. */
export const TRANSIENT_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The service answered `status` with `body`. */
export function outcomeOfAnswer(status: number, body: unknown, flags: AttemptFlags): Outcome {
  if (flags.canceled) return { state: 'canceled' };
  if (status >= 200 && status < 300) return { state: 'succeeded', result: body };
  if (status === 409 && (body as { canceled?: unknown } | null)?.canceled === true) return { state: 'canceled' };
  const said = (body as { error?: unknown } | null)?.error;
  const message = `the service answered ${status}${typeof said === 'string' ? `: ${said.slice(0, 200)}` : ''}`;
  if (TRANSIENT_STATUS.has(status)) return { state: 'retry', code: `service_${status}`, message };
  return { state: 'failed', code: 'service_error', message };
}

/** The attempt ended without an answer: canceled, timed out, too large, or the service unreachable. */
export function outcomeOfError(err: unknown, flags: AttemptFlags): Outcome {
  if (flags.canceled) return { state: 'canceled' };
  if (flags.timedOut) return { state: 'failed', code: 'timeout', message: `the attempt ran over ${flags.timeoutSeconds} s` };
  if (hasCode(err, 'body_too_large')) return { state: 'failed', code: 'result_too_large', message: 'the result is larger than jobs.maxResultBytes' };
  // The payload cannot be opened (sealed under another install key): no attempt can succeed.
  if ((err as { code?: unknown } | null)?.code === 'sealed_unreadable') return { state: 'failed', code: 'sealed_unreadable', message: (err as Error).message };
  // The service was deleted while the job waited or ran: no attempt can succeed.
  if (hasCode(err, 'service_not_found')) return { state: 'failed', code: 'service_not_found', message: 'the service is no longer registered' };
  // Never the raw error text (it may name hosts and paths): a GatewayError's detail, or the errno code.
  const code = (err as { code?: unknown } | null)?.code;
  const message = hasCode(err, 'service_unavailable')
    ? (err as Error).message
    : `the service could not be reached${typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : ''}`;
  // The service could not be started or reached: worth another try.
  return { state: 'retry', code: 'service_unreachable', message };
}

/** Delay before attempt `attempts + 1`: base * 2^(attempts - 1), capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), maxMs);
}
