/**
 * Repeated refusals are counted, not written one by one (HABITS 25): per client, actor, type and
 * code, the first refusal of a window is written at once (a single refusal is never delayed) and
 * the rest are counted into one entry with `detail.count` when the window closes (or at stop).
 * The table is bounded: past `maxKeys` entries, refusals are counted per type and code with client
 * `*`. Knows nothing of files: it writes through the function it is given.
 */
import type { AuditEvent } from './event.js';

export interface RefusalOptions {
  /** Length of a counting window (ms). */
  windowMs: number;
  /** Distinct (client, actor, type, code) counted at once; beyond, per (type, code) only. */
  maxKeys: number;
  write(event: AuditEvent): void;
  /** Whether the log takes an entry now; a closed window waits (still counting) while it does not. */
  canWrite?: () => boolean;
  now: () => number;
}

interface Window {
  first: AuditEvent;
  from: number;
  last: number;
  /** Refusals after the first (not written yet). */
  count: number;
  routes: string[];
  lastRequestId: string | undefined;
  overflow: boolean;
}

/** Routes named in an aggregated entry at most. */
const MAX_ROUTES = 5;

export class RefusalAggregator {
  private readonly table = new Map<string, Window>();
  private readonly overflow = new Map<string, Window>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: RefusalOptions) {
    if (!(opts.windowMs >= 1) || !(opts.maxKeys >= 1)) throw new Error('refusal aggregation needs a window and a table size');
  }

  /** Keys counted now (for tests and metrics). */
  get size(): number {
    return this.table.size + this.overflow.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(false), Math.min(Math.max(this.opts.windowMs / 4, 250), 15_000));
    this.timer.unref();
  }

  refused(event: AuditEvent): void {
    const now = this.opts.now();
    const key = `${event.type}\0${event.code ?? ''}\0${event.client ?? ''}\0${event.actor?.id ?? ''}`;
    const open = this.table.get(key);
    if (open !== undefined) {
      if (now - open.from < this.opts.windowMs || !this.writable()) {
        this.count(open, event, now);
        return;
      }
      this.close(this.table, key, open);
    }
    if (this.table.size >= this.opts.maxKeys) {
      // Memory bound (many client addresses): one window per type and code, for every client.
      const okey = `${event.type}\0${event.code ?? ''}`;
      let w = this.overflow.get(okey);
      if (w === undefined) {
        const { type, outcome, status, code } = event;
        w = {
          first: { type, outcome, status, code, client: '*', detail: event.detail },
          from: now,
          last: now,
          count: 0,
          routes: [],
          lastRequestId: undefined,
          overflow: true,
        };
        this.overflow.set(okey, w);
      }
      this.count(w, event, now);
      return;
    }
    this.table.set(key, { first: event, from: now, last: now, count: 0, routes: [], lastRequestId: undefined, overflow: false });
    this.opts.write(event);
  }

  private writable(): boolean {
    return this.opts.canWrite?.() ?? true;
  }

  private count(w: Window, event: AuditEvent, now: number): void {
    w.count++;
    w.last = now;
    w.lastRequestId = event.requestId;
    if (event.route !== undefined && w.routes.length < MAX_ROUTES && !w.routes.includes(event.route)) w.routes.push(event.route);
  }

  /**
   * Writes the count of every window that has closed (all of them with `all`). While the log is
   * backed up the counts wait in their windows, so a flood that fills the queue is still counted
   * by its own entry rather than folded into audit.dropped.
   */
  sweep(all: boolean): void {
    if (!all && !this.writable()) return;
    const now = this.opts.now();
    for (const map of [this.table, this.overflow]) {
      for (const [key, w] of map) if (all || now - w.from >= this.opts.windowMs) this.close(map, key, w);
    }
  }

  private close(map: Map<string, Window>, key: string, w: Window): void {
    map.delete(key);
    if (w.count === 0) return;
    const { type, outcome, actor, client, status, code } = w.first;
    const reason = (w.first.detail as { reason?: unknown } | undefined)?.reason;
    this.opts.write({
      type,
      outcome,
      actor,
      client,
      status,
      code,
      detail: {
        count: w.count,
        aggregated: true,
        from: new Date(w.from).toISOString(),
        to: new Date(w.last).toISOString(),
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(w.routes.length > 0 ? { routes: w.routes } : {}),
        ...(w.lastRequestId !== undefined ? { lastRequestId: w.lastRequestId } : {}),
        ...(w.overflow ? { clients: `more than ${this.opts.maxKeys} refused clients and actors in this window: counted together` } : {}),
      },
    });
  }

  /** Writes every open count now (before the shutdown record). */
  flush(): void {
    this.sweep(true);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }
}
