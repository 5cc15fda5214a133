/**
 * What the door counts for the watch (metrics, doctor, heartbeat): refusals by code, authentication
 * failures and lockouts over the last 24 h, rate-limit refusals by class, forwarded headers seen.
 * Plain numbers bumped on refusals only (never on a request that passes); read at scrape time.
 */

const HOUR_MS = 3_600_000;
const HOURS = 24;

/** A count per hour over the last 24 hours (a ring of hourly buckets), and the total since boot. */
export class HourlyCounter {
  private readonly hourOf = new Float64Array(HOURS).fill(-1);
  private readonly counts = new Float64Array(HOURS);
  total = 0;

  /** Counts `n` at time `now`; `total` (since boot) is left alone for counts read back from before a restart. */
  add(now: number, n = 1, sinceBoot = true): void {
    if (sinceBoot) this.total += n;
    const hour = Math.floor(now / HOUR_MS);
    const i = hour % HOURS;
    if ((this.hourOf[i] as number) > hour) return; // older than what the slot holds now: outside the window
    if (this.hourOf[i] !== hour) {
      this.hourOf[i] = hour;
      this.counts[i] = 0;
    }
    (this.counts as Float64Array)[i] = (this.counts[i] as number) + n;
  }

  /** The count of the current hour and the 23 before it. */
  last24h(now: number): number {
    const hour = Math.floor(now / HOUR_MS);
    let sum = 0;
    for (let i = 0; i < HOURS; i++) {
      const h = this.hourOf[i] as number;
      if (h >= 0 && h <= hour && hour - h < HOURS) sum += this.counts[i] as number;
    }
    return sum;
  }
}

/** Refusals that are authentication failures (the audit's auth.failure and pairing.failure). */
export const AUTH_FAILURE_CODES = ['auth_required', 'token_invalid', 'pairing_code_invalid'] as const;
/** The audit types restore() takes. */
export const RESTORED_AUDIT_TYPES = ['auth.failure', 'pairing.failure', 'auth.lockout'] as const;
/** Of those, the ones where a credential was presented and was wrong (they count towards lockout). */
export const CREDENTIAL_FAILURE_CODES: readonly string[] = ['token_invalid', 'pairing_code_invalid'];

export class DoorCounters {
  /** Problems answered, by error code (bounded by the error table). */
  readonly problems = new Map<string, number>();
  /** rate_limited refusals by rate class. */
  readonly rateLimited = new Map<string, number>();
  /** Authentication failures by code, each with its 24 h window. */
  readonly authFailures = new Map<string, HourlyCounter>(AUTH_FAILURE_CODES.map((c) => [c, new HourlyCounter()]));
  /** Lockouts imposed (a client crossing lockout.after). */
  readonly lockouts = new HourlyCounter();
  /** Requests carrying X-Forwarded-For or Forwarded, and when the last one arrived. */
  readonly forwarded = new HourlyCounter();
  lastForwardedAt: number | null = null;

  /** A refusal or failure answered with `code` (rateClass: the route's, for rate_limited). */
  problem(code: string, rateClass: string, now: number): void {
    this.problems.set(code, (this.problems.get(code) ?? 0) + 1);
    const auth = this.authFailures.get(code);
    if (auth !== undefined) auth.add(now);
    else if (code === 'rate_limited') this.rateLimited.set(rateClass, (this.rateLimited.get(rateClass) ?? 0) + 1);
  }

  lockout(now: number): void {
    this.lockouts.add(now);
  }

  /**
   * Refusals from before this start, read back from the audit log at boot (auth.failure,
   * pairing.failure, auth.lockout; an aggregated entry with its count), so that the 24 h windows
   * survive a restart. Totals since boot are left alone.
   */
  restore(type: string, code: string | undefined, at: number, n: number): void {
    if (type === 'auth.lockout') this.lockouts.add(at, n, false);
    else if (code !== undefined) this.authFailures.get(code)?.add(at, n, false);
  }

  /** A request arrived with a forwarded header (called only when one is present). */
  forwardedHeader(now: number): void {
    this.forwarded.add(now);
    this.lastForwardedAt = now;
  }

  authFailures24h(now: number, codes: readonly string[] = AUTH_FAILURE_CODES): number {
    let sum = 0;
    for (const code of codes) sum += this.authFailures.get(code)?.last24h(now) ?? 0;
    return sum;
  }
}
