/**
 * The small store behind rate limits and lockout: sliding-window counters and failure records per
 * client key. In memory by default, bounded (least recently seen keys are evicted first) so a flood
 * of distinct addresses cannot exhaust memory. A shared store for replicas implements the same
 * interfaces (synchronous reads of a locally replicated view keep the request path free of awaits).
 */
import ipaddr from 'ipaddr.js';

/**
 * A map bounded to `max` keys with least-recently-used eviction, approximated by two generations:
 * keys live in `young` or `old`; a hit in `old` moves the key to `young`; when `young` fills half
 * the budget, `old` (the keys not seen for a whole generation) is dropped. A hit costs one lookup.
 */
export class LruMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private half: number;
  constructor(private bound: number) {
    this.half = Math.max(1, Math.floor(bound / 2));
  }
  get max(): number {
    return this.bound;
  }
  /** A new bound (a live change of rateLimit.maxClients): in force from the next generation on. */
  resize(max: number): void {
    this.bound = max;
    this.half = Math.max(1, Math.floor(max / 2));
  }
  get size(): number {
    return this.young.size + this.old.size;
  }
  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.insert(key, o);
    }
    return o;
  }
  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insert(key, value);
  }
  private insert(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
  delete(key: K): boolean {
    return this.young.delete(key) || this.old.delete(key);
  }
  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

export interface WindowStore {
  /** Counts one hit for `key` and returns the sliding-window count including it. */
  hit(key: string, now: number): number;
  /** Milliseconds until the current window of `key` ends. */
  resetIn(key: string, now: number): number;
  /** Tracks at most `maxClients` keys from now on (a live change); the counts are kept. */
  resize(maxClients: number): void;
}

export interface FailureRecord {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export interface FailureStore {
  get(key: string): FailureRecord | undefined;
  set(key: string, record: FailureRecord): void;
  delete(key: string): void;
  /** Keeps at most `maxClients` records from now on (a live change); the records are kept. */
  resize(maxClients: number): void;
}

interface Window {
  start: number;
  current: number;
  previous: number;
}

/**
 * Sliding-window counter: the previous fixed window's count, weighted by how much of it still
 * overlaps the sliding window, plus the current window's count. O(1) memory per key.
 */
export class MemoryWindowStore implements WindowStore {
  private readonly windows: LruMap<string, Window>;
  constructor(
    private readonly windowMs: number,
    maxKeys: number,
  ) {
    this.windows = new LruMap(maxKeys);
  }
  get size(): number {
    return this.windows.size;
  }
  resize(maxClients: number): void {
    this.windows.resize(maxClients);
  }
  hit(key: string, now: number): number {
    const start = now - (now % this.windowMs);
    let w = this.windows.get(key);
    if (w === undefined) {
      w = { start, current: 0, previous: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.previous = start - w.start === this.windowMs ? w.current : 0;
      w.current = 0;
      w.start = start;
    }
    w.current++;
    return w.previous * (1 - (now - start) / this.windowMs) + w.current;
  }
  resetIn(_key: string, now: number): number {
    return this.windowMs - (now % this.windowMs);
  }
}

export class MemoryFailureStore implements FailureStore {
  private readonly records: LruMap<string, FailureRecord>;
  constructor(maxKeys: number) {
    this.records = new LruMap(maxKeys);
  }
  get size(): number {
    return this.records.size;
  }
  resize(maxClients: number): void {
    this.records.resize(maxClients);
  }
  get(key: string): FailureRecord | undefined {
    return this.records.get(key);
  }
  set(key: string, record: FailureRecord): void {
    this.records.set(key, record);
  }
  delete(key: string): void {
    this.records.delete(key);
  }
}

/**
 * The key a client is limited under: its IPv4 address, or its IPv6 /64 (one subscriber usually
 * holds a whole /64, so per-address keys would let it rotate past every limit).
 */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return `${ipaddr.IPv6.parse(address)
      .parts.slice(0, 4)
      .map((p) => p.toString(16))
      .join(':')}::/64`;
  } catch {
    return address;
  }
}

/**
 * The one store interface of rate limits and lockout: it hands out the counters of each rate class
 * and the failure records. The gateway passes the in-memory one; a store shared by replicas
 * implements this (its parts keep a locally replicated view, so reads stay synchronous).
 */
export interface LimiterStore {
  /** Sliding-window counters of one rate class. */
  windows(rateClass: string, windowMs: number, maxClients: number): WindowStore;
  /** Failure records of the lockout, one store per kind of credential (`token`, `pairing`). */
  failures(maxClients: number, kind: string): FailureStore;
}

export const memoryLimiterStore: LimiterStore = {
  windows: (_rateClass, windowMs, maxClients) => new MemoryWindowStore(windowMs, maxClients),
  failures: (maxClients, _kind) => new MemoryFailureStore(maxClients),
};
