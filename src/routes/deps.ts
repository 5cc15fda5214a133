/**
 * What routes need from the domain, as interfaces: gateway.ts wires the implementations. Routes
 * shape requests into plain data for these and replies from what they return.
 */
import type { EventBus } from '../domain/events/bus.js';
import type { PairingService } from '../domain/identity/pairing.js';
import type { TokenService } from '../domain/identity/tokens.js';
import type { JobService } from '../domain/jobs/queue.js';
import type { Scheduler } from '../domain/schedules/scheduler.js';

export interface StatusView {
  version: string;
  bind: { address: string; port: number; class: string };
  tls: { enabled: boolean; fingerprint: string | null };
  auth: { enabled: boolean };
  uptimeSeconds: number;
}

export interface AuditView {
  read(after: number, limit: number): Promise<unknown[]>;
  head(): { seq: number; hash: string };
  verify(): Promise<unknown>;
}

/** Event-stream slots (limits.maxStreams) and the list of open streams (closed on drain). */
export interface StreamSlots {
  /** Counts `res` as a stream (not a request in flight); throws too_many_streams. Returns release. */
  open(res: object): () => void;
  /** Registers a stream's closer; returns the unregister function. */
  track(close: () => void): () => void;
}

export interface RouteDeps {
  status(): StatusView;
  isDraining(): boolean;
  tokens: TokenService;
  pairing: PairingService;
  audit: AuditView;
  openapi(): unknown;
  jobs: JobService;
  schedules: Scheduler;
  events: EventBus;
  streams: StreamSlots;
  callbackSecret(actor: { id: string; name: string }): string;
}
