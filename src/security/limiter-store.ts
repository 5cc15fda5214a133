/**
 * The small store behind rate limits and lockout: sliding-window counters and failure records per
 * client key. In memory by default, bounded (least recently seen keys are evicted first) so a flood
 * of distinct addresses cannot exhaust memory. A shared store for replicas implements the same
 * interfaces (synchronous reads of a locally replicated view keep the request path free of awaits).
 */
import ipaddr from 'ipaddr.js';

/** A Map bounded to `max` keys; reads and writes make a key most recently used. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly max: number) {}
  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): boolean {
    return this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
}

export interface WindowStore {
  /** Counts one hit for `key` and returns the sliding-window count including it. */
  hit(key: string, now: number): number;
  /** Milliseconds until the current window of `key` ends. */
  resetIn(key: string, now: number): number;
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
    return `${ipaddr.IPv6.parse(address).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
  } catch {
    return address;
  }
}
