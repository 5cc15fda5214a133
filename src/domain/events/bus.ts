/**
 * Live events (jobs, services, schedules, tasks, pairing) for SSE and WebSocket clients: published in order,
 * numbered, kept in a bounded ring so that an SSE client can resume with Last-Event-ID. Ids carry a
 * boot id: an id from an earlier run cannot be resumed and the client is told to refetch.
 */
import { randomBytes } from 'node:crypto';

/** `pairing`: a pairing code was redeemed (admin only: the console that minted it marks it used). */
export type EventFamily = 'jobs' | 'services' | 'schedules' | 'tasks' | 'pairing';

export interface MoatEvent {
  /** `<boot>-<seq>`, the SSE id. */
  id: string;
  seq: number;
  type: string;
  family: EventFamily;
  at: string;
  data: Record<string, unknown>;
}

export type Listener = (event: MoatEvent) => void;

export class EventBus {
  readonly bootId = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly ring: MoatEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  publish(type: string, family: EventFamily, data: Record<string, unknown>): MoatEvent {
    const seq = ++this.seq;
    const event: MoatEvent = { id: `${this.bootId}-${seq}`, seq, type, family, at: new Date(this.now()).toISOString(), data };
    this.ring.push(event);
    // Trimmed in batches (an eighth of the capacity at a time), not one shift per event.
    if (this.ring.length > this.capacity + (this.capacity >> 3)) this.ring.splice(0, this.ring.length - this.capacity);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a failing subscriber must not stop the others (it is removed by its owner)
      }
    }
    return event;
  }

  /**
   * Events after `lastEventId`, or null when they cannot be replayed (an id from another run, or
   * one older than the ring): the client should refetch state.
   */
  since(lastEventId: string): MoatEvent[] | null {
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastEventId);
    if (!m || m[1] !== this.bootId) return null;
    const after = Number(m[2]);
    const first = this.ring[0];
    if (after > this.seq) return null;
    if (first && after < first.seq - 1) return null;
    return this.ring.filter((e) => e.seq > after);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
