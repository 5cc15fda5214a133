/**
 * A refusal inside the egress guard (URL check, connect-time address check, redirect cap), carried
 * to Egress.request(), which audits it and turns it into egress_denied. Never leaves src/egress.
 */
import type { Verdict } from './types.js';

export class EgressRefusal extends Error {
  override readonly name = 'EgressRefusal';
  /** A code undici does not treat as a retryable socket error. */
  readonly code = 'MOAT_EGRESS_REFUSED';

  constructor(
    readonly verdict: Verdict,
    /** host[:port] of the URL refused, or null when it could not be parsed. */
    readonly host: string | null,
    readonly addresses: readonly string[],
  ) {
    super(`egress refused: ${verdict.reason}`);
  }
}

export function isRefusal(err: unknown): err is EgressRefusal {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'MOAT_EGRESS_REFUSED' && 'verdict' in err;
}
