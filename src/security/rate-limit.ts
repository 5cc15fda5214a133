/**
 * Rate limits per client and route class (sliding window), applied before authentication so that
 * floods of failed logins and unknown paths are throttled too. Options are checked at boot.
 */
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { clientKey, memoryLimiterStore, type LimiterStore, type MemoryWindowStore, type WindowStore } from './limiter-store.js';
import type { RateClass } from './guard-state.js';

export interface RateLimitOptions {
  enabled: boolean;
  perMinute: Readonly<Record<RateClass, number>>;
  maxClients: number;
}

/** The limiter's options from the `rateLimit` config section. */
export function rateLimitOptions(c: Readonly<Config['rateLimit']>): RateLimitOptions {
  const perMinute = {} as Record<RateClass, number>;
  for (const cls of RATE_CLASSES) perMinute[cls] = c[cls].perMinute;
  return { enabled: c.enabled, maxClients: c.maxClients, perMinute };
}

export const RATE_CLASSES: readonly RateClass[] = ['pair', 'hooks', 'jobs', 'progress', 'general'];
const WINDOW_MS = 60_000;

interface ClassLimiter {
  limit: number;
  limitHeader: string;
  store: WindowStore;
}

function compile(opts: RateLimitOptions, store: LimiterStore, previous?: Map<RateClass, ClassLimiter>): Map<RateClass, ClassLimiter> {
  const out = new Map<RateClass, ClassLimiter>();
  for (const cls of RATE_CLASSES) {
    const limit = opts.perMinute[cls];
    if (!Number.isInteger(limit) || limit < 1) {
      throw new GatewayError(
        'config_invalid',
        `rateLimit.${cls}.perMinute must be a whole number >= 1 (got ${limit}); to turn limits off set rateLimit.enabled=false`,
      );
    }
    out.set(cls, { limit, limitHeader: String(limit), store: previous?.get(cls)?.store ?? store.windows(cls, WINDOW_MS, opts.maxClients) });
  }
  return out;
}

export function rateLimit(initial: RateLimitOptions, store: LimiterStore = memoryLimiterStore) {
  let enabled = initial.enabled;
  let limiters = compile(initial, store);

  /** Throws 429 rate_limited when `client` is over the limit of `cls`. */
  function rateLimit(cls: RateClass, client: string, now: number): void {
    if (!enabled) return;
    const l = limiters.get(cls) as ClassLimiter;
    const key = clientKey(client);
    const count = l.store.hit(key, now);
    if (count <= l.limit) return;
    const reset = String(Math.max(1, Math.ceil(l.store.resetIn(key, now) / 1000)));
    throw new GatewayError('rate_limited', `more than ${l.limit} requests per minute for this kind of route`, {
      headers: { 'retry-after': reset, 'ratelimit-limit': l.limitHeader, 'ratelimit-remaining': '0', 'ratelimit-reset': reset },
    });
  }

  return Object.assign(rateLimit, {
    /** Live changes keep the counters: a new limit applies to the window already counted, a new maxClients bounds them from now on. */
    reconfigure(next: RateLimitOptions): void {
      const compiled = compile(next, store, limiters);
      for (const l of compiled.values()) l.store.resize(next.maxClients);
      enabled = next.enabled;
      limiters = compiled;
    },
    /** Keys currently tracked per class (memory bound checks, metrics). */
    sizes(): Record<RateClass, number> {
      const out = {} as Record<RateClass, number>;
      for (const [cls, l] of limiters) out[cls] = (l.store as Partial<MemoryWindowStore>).size ?? 0;
      return out;
    },
  });
}
