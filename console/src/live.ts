/**
 * The live feed: one EventSource on /api/v1/events (same origin, the cookie authenticates it), fanned
 * out to the views by event type prefix. `end` (the session was revoked, expired, or the admin token
 * rotated) closes it for good and signs the page out; it never reconnects with a dead session.
 */

export interface LiveEvent {
  type: string;
  data: Record<string, unknown>;
}

type Listener = (e: LiveEvent) => void;

/** EventSource has no wildcard: every type the gateway publishes that a view uses is listed. */
const TYPES = [
  'job.queued',
  'job.dispatched',
  'job.running',
  'job.retrying',
  'job.progress',
  'job.succeeded',
  'job.failed',
  'job.canceled',
  'task.created',
  'task.updated',
  'task.deleted',
  'task.commented',
  'task.reviewed',
  'task.job_submitted',
  'service.state',
  'service.failed',
  'service.registered',
  'service.updated',
  'service.deleted',
  'service.orphan_stopped',
  'service.pull',
  'schedule.fired',
  'pairing.redeemed',
];

export class Live {
  private source: EventSource | null = null;
  private readonly listeners = new Set<{ prefix: string; fn: Listener }>();

  constructor(private readonly onEnd: (reason: string) => void) {}

  start(): void {
    if (this.source) return;
    const es = new EventSource('/api/v1/events');
    this.source = es;
    for (const type of TYPES) es.addEventListener(type, (m) => this.emit(type, (m as MessageEvent<string>).data));
    // The ring could not replay what we missed: every view refetches.
    es.addEventListener('reset', () => this.emit('reset', '{}'));
    es.addEventListener('end', (m) => {
      this.stop();
      let reason = 'the session ended';
      try {
        const r = (JSON.parse((m as MessageEvent<string>).data) as { reason?: unknown }).reason;
        if (typeof r === 'string') reason = r;
      } catch {
        // keep the default reason
      }
      this.onEnd(reason);
    });
    // Refused (401/403) or the gateway went away for good: the browser stops retrying; ask who we are.
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED && this.source === es) {
        this.source = null;
        this.onEnd('');
      }
    });
  }

  stop(): void {
    this.source?.close();
    this.source = null;
  }

  /** Subscribe to events whose type starts with `prefix` ('' for all, 'reset' for refetches). */
  on(prefix: string, fn: Listener): () => void {
    const entry = { prefix, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  private emit(type: string, text: string): void {
    let data: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object') data = parsed as Record<string, unknown>;
    } catch {
      return;
    }
    for (const l of this.listeners) if (type.startsWith(l.prefix)) l.fn({ type, data });
  }
}
