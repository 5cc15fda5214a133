/**
 * Lockout after repeated authentication or pairing failures from one client: after `after`
 * failures the client's attempts of that kind are refused for `baseMs`, doubling per further
 * failure up to `maxMs`. Brute force of tokens and pairing codes. Each kind of credential has its
 * own count: a success resets the failures of its own kind only, so holding one valid token (or
 * sharing an address with someone who does) never wipes out the count of pairing codes guessed.
 */
import { GatewayError } from '../errors.js';
import { clientKey, memoryLimiterStore, type FailureStore, type LimiterStore } from './limiter-store.js';

export interface LockoutOptions {
  after: number;
  baseMs: number;
  maxMs: number;
  maxClients: number;
}

/**
 * What was guessed: a bearer token, or a pairing code. (Console sign-in codes, when they come, get
 * a kind of their own.)
 */
export type LockoutKind = 'token' | 'pairing';

/** Failures older than this are forgotten (a typo last week does not count towards today). */
const FORGET_AFTER_MS = 60 * 60_000;

function check(opts: LockoutOptions): LockoutOptions {
  if (opts.baseMs > opts.maxMs) throw new GatewayError('config_invalid', `lockout.baseMs (${opts.baseMs}) must not exceed lockout.maxMs (${opts.maxMs})`);
  return { ...opts };
}

export function lockout(initial: LockoutOptions, stores: LimiterStore = memoryLimiterStore) {
  let opts = check(initial);
  const byKind: Readonly<Record<LockoutKind, FailureStore>> = {
    token: stores.failures(initial.maxClients, 'token'),
    pairing: stores.failures(initial.maxClients, 'pairing'),
  };

  /** Throws 429 locked_out while `client` is locked for `kind`. Never says whether a credential was valid. */
  function lockout(client: string, now: number, kind: LockoutKind): void {
    const r = byKind[kind].get(clientKey(client));
    if (r === undefined || r.lockedUntil <= now) return;
    const seconds = String(Math.ceil((r.lockedUntil - now) / 1000));
    throw new GatewayError('locked_out', `too many failed attempts from this address; retry in ${seconds} s`, {
      headers: { 'retry-after': seconds },
    });
  }

  return Object.assign(lockout, {
    /** Records a failure of `kind`; returns the lockout now in force in ms (0 if none). */
    fail(client: string, now: number, kind: LockoutKind): number {
      const store = byKind[kind];
      const key = clientKey(client);
      const prev = store.get(key);
      const failures = prev && now - prev.lastFailure < FORGET_AFTER_MS ? prev.failures + 1 : 1;
      let lockedUntil = 0;
      if (failures >= opts.after) lockedUntil = now + Math.min(opts.baseMs * 2 ** Math.min(failures - opts.after, 30), opts.maxMs);
      store.set(key, { failures, lockedUntil, lastFailure: now });
      return lockedUntil === 0 ? 0 : lockedUntil - now;
    },
    /** A success of `kind`: that kind's failures from `client` start over (and only those). */
    succeed(client: string, kind: LockoutKind): void {
      byKind[kind].delete(clientKey(client));
    },
    /** New options; the failure records are kept (a new maxClients bounds them from now on). */
    reconfigure(next: LockoutOptions): void {
      opts = check(next);
      for (const store of Object.values(byKind)) store.resize(next.maxClients);
    },
  });
}

export type Lockout = ReturnType<typeof lockout>;
