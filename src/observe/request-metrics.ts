/**
 * Requests by route, method and status class, and their latency, counted on the request path into
 * preallocated plain arrays (no prom-client call, no label hashing, no allocation per request);
 * prom-client reads them at scrape time. Labels are bounded: a slot per registered route pattern and
 * method, fixed at registration, and one `(unmatched)` slot per method for everything else.
 */

/**
 * On the raw response: the slot the pipeline chose for its route (-1: none), and when the listener
 * got it (performance.now(); 0: not counted). The listener's response classes are born with both.
 */
export const RES_SLOT = Symbol('moat.metrics.slot');
export const RES_START = Symbol('moat.metrics.start');

export interface ObservedResponse {
  statusCode: number;
  writableEnded: boolean;
  req?: { method?: string | undefined } | undefined;
  [RES_SLOT]?: number;
  [RES_START]?: number;
}

/** Status classes; `aborted`: the connection closed before the response was complete. */
export const STATUS_CLASSES = ['aborted', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Upper bounds of the latency buckets in seconds (+Inf is implied). */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const UNMATCHED = '(unmatched)';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const CLASSES = STATUS_CLASSES.length;
const BUCKETS = LATENCY_BUCKETS.length + 1;

/** Where a route's requests are counted: one slot, or one per method (routes with several). */
export interface RouteSlots {
  slot: number;
  byMethod: Readonly<Record<string, number>> | null;
}

export interface SlotView {
  route: string;
  method: string;
  /** Count per status class, in STATUS_CLASSES order. */
  counts: number[];
  /** Non-cumulative count per latency bucket, +Inf last. */
  buckets: number[];
  sum: number;
}

export class RequestMetrics {
  private readonly labels: Array<{ route: string; method: string }> = [];
  private readonly index = new Map<string, number>();
  private readonly counts: number[] = [];
  private readonly buckets: number[] = [];
  private readonly sums: number[] = [];
  /** For requests that matched no route (or were refused before routing). */
  readonly unmatched: RouteSlots;
  private readonly bounds = LATENCY_BUCKETS;

  constructor() {
    this.unmatched = this.slotsFor(UNMATCHED, METHODS, 'OTHER');
    // Bound once: it is the 'close' listener's callee.
    this.closed = this.closed.bind(this);
  }

  /** The slot of one (route pattern, method); registering the same pair again returns the same slot. */
  private slot(route: string, method: string): number {
    const key = `${method} ${route}`;
    let slot = this.index.get(key);
    if (slot === undefined) {
      slot = this.labels.length;
      this.labels.push({ route, method });
      this.index.set(key, slot);
      for (let i = 0; i < CLASSES; i++) this.counts.push(0);
      for (let i = 0; i < BUCKETS; i++) this.buckets.push(0);
      this.sums.push(0);
    }
    return slot;
  }

  /** Slots for a route registered with `methods` (at registration, never per request). */
  slotsFor(route: string, methods: readonly string[], fallbackMethod?: string): RouteSlots {
    const list = methods.map((m) => String(m).toUpperCase());
    if (list.length === 1 && fallbackMethod === undefined) return { slot: this.slot(route, list[0] as string), byMethod: null };
    const byMethod: Record<string, number> = Object.create(null);
    for (const m of list) byMethod[m] = this.slot(route, m);
    const slot = fallbackMethod === undefined ? (byMethod[list[0] as string] as number) : this.slot(route, fallbackMethod);
    return { slot, byMethod: Object.freeze(byMethod) };
  }

  /** The response's 'close': one count by status class and one latency observation. */
  closed(res: ObservedResponse): void {
    const start = res[RES_START];
    if (!start) return;
    let slot = res[RES_SLOT] ?? -1;
    if (slot < 0) slot = this.unmatched.byMethod?.[res.req?.method ?? ''] ?? this.unmatched.slot;
    let cls = 0;
    if (res.writableEnded) {
      cls = (res.statusCode / 100) | 0;
      if (cls < 1 || cls > 5) cls = 5;
    }
    const counts = this.counts;
    const c = slot * CLASSES + cls;
    counts[c] = (counts[c] as number) + 1;
    const seconds = (performance.now() - start) / 1000;
    this.sums[slot] = (this.sums[slot] as number) + seconds;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    const b = slot * BUCKETS + i;
    this.buckets[b] = (this.buckets[b] as number) + 1;
  }

  /** Every slot that has seen a request (scrape time). */
  view(): SlotView[] {
    const out: SlotView[] = [];
    for (let s = 0; s < this.labels.length; s++) {
      const counts = this.counts.slice(s * CLASSES, (s + 1) * CLASSES);
      if (counts.every((c) => c === 0)) continue;
      const { route, method } = this.labels[s] as { route: string; method: string };
      out.push({ route, method, counts, buckets: this.buckets.slice(s * BUCKETS, (s + 1) * BUCKETS), sum: this.sums[s] as number });
    }
    return out;
  }

  /** Slots registered (bounded by the routes, whatever the traffic). */
  get slotCount(): number {
    return this.labels.length;
  }
}
