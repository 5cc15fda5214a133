/**
 * What routes need from the domain, as interfaces: gateway.ts wires the implementations. Routes
 * shape requests into plain data for these and replies from what they return.
 */
import type { DoctorReport, FixReport } from '../domain/doctor/index.js';
import type { EventBus } from '../domain/events/bus.js';
import type { PairingService } from '../domain/identity/pairing.js';
import type { SessionService } from '../domain/identity/sessions.js';
import type { TokenService } from '../domain/identity/tokens.js';
import type { JobService } from '../domain/jobs/queue.js';
import type { Scheduler } from '../domain/schedules/scheduler.js';
import type { EGRESS_PURPOSE_NAMES } from '../api/egress.js';
import type { ToolService } from '../domain/tools/registry.js';
import type { WorkspaceService } from '../domain/workspaces/runs.js';
import type { ServiceProxy, Supervisor } from '../domain/services/index.js';
import type { HookReceiver } from '../domain/hooks/receiver.js';
import type { HookRegistry } from '../domain/hooks/registry.js';
import type { TriggerService } from '../domain/hooks/triggers.js';
import type { ActionLinks } from '../domain/tasks/links.js';
import type { TaskService } from '../domain/tasks/service.js';
import type { Principal } from '../crypto/principal.js';
import type { GuardState } from '../security/guard-state.js';
import type { Actor } from '../api/actor.js';

export interface StatusView {
  version: string;
  bind: { address: string; port: number; class: string };
  tls: { enabled: boolean; fingerprint: string | null };
  auth: { enabled: boolean };
  uptimeSeconds: number;
}

export interface AuditView {
  read(after: number, limit: number): Promise<unknown[]>;
  /** The newest entry written to the files (after writing what was recorded before the call), and the security chain's. */
  head(): Promise<{ seq: number; hash: string; security?: { seq: number; hash: string } }>;
  verify(): Promise<unknown>;
}

/** Event-stream slots (limits.maxStreams), the list of open streams (closed on drain), and their tokens. */
export interface StreamSlots {
  /**
   * Counts `res` as a stream of the guarded request (no longer a request in flight), against the
   * global cap and its token's and address's shares; throws too_many_streams or concurrency_limited.
   * Returns the release.
   */
  open(res: object, state: GuardState): () => void;
  /** Registers a stream's closer; returns the unregister function. */
  track(close: () => void): () => void;
  /**
   * Ends a long-lived connection when the token it came in with is revoked, rotated or expires
   * (audited as stream.ended); returns the unbind, for when it closes on its own.
   */
  bind(principal: Principal | null | undefined, stream: StreamKind, close: (reason: StreamEnd) => void): () => void;
}

export type StreamKind = 'events' | 'events-ws' | 'proxy-ws';
/** Why a stream's token or session stopped working. */
export type StreamEnd = 'revoked' | 'rotated' | 'expired' | 'signed_out';

/** The egress guard's dry run (src/egress Egress.check). */
export interface EgressView {
  check(url: string, purpose: (typeof EGRESS_PURPOSE_NAMES)[number]): Promise<{ allowed: boolean; reason: string; addresses: string[]; rule: string | null }>;
}

/** The live configuration (GET/PATCH /api/v1/config). */
export interface LiveConfigView {
  view(): { config: unknown; sources: Record<string, string> };
  patch(patch: unknown, actor: Actor): { config: unknown; sources: Record<string, string> };
}

/** moat doctor on the running gateway. */
export interface DoctorView {
  run(): Promise<DoctorReport>;
  /** Repairs what is safe (audited as doctor.fixed with each action), then checks again. */
  fix(actor: Actor): Promise<FixReport>;
}

/** GET /metrics: the Prometheus text, and whether it is open without a token (loopback only). */
export interface MetricsView {
  public: boolean;
  text(): Promise<string>;
}

/** One built console file in memory, with its precompressed forms when the build wrote them. */
export interface ConsoleAsset {
  type: string;
  body: Buffer;
  br: Buffer | null;
  gzip: Buffer | null;
}

/** The console's files (gateway/console-assets.ts): index.html, other top-level files, and assets/. */
export interface ConsoleAssets {
  index: ConsoleAsset | null;
  files: ReadonlyMap<string, ConsoleAsset>;
  assets: ReadonlyMap<string, ConsoleAsset>;
  /** Where they were read from (for the message when the console is not built). */
  dir: string;
}

/** The console: on or off (console.enabled), its files, and whether a request came over HTTPS (the cookie's name and Secure). */
export interface ConsoleView {
  enabled: boolean;
  https(req: import('fastify').FastifyRequest): boolean;
  assets: ConsoleAssets;
}

export interface RouteDeps {
  status(): StatusView;
  isDraining(): boolean;
  tokens: TokenService;
  pairing: PairingService;
  /** Console sessions; null when the console is off. */
  sessions: SessionService | null;
  console: ConsoleView;
  audit: AuditView;
  egress: EgressView;
  /** Runs and their workspaces, the workspace policy. */
  workspaces: WorkspaceService;
  tools: ToolService;
  /**
   * Body cap of POST /api/v1/tools/invoke (an fs.write of tools.maxWriteBytes as base64): the one in
   * force now (tools is a live key), and the largest it can become (the route's static cap).
   */
  toolsBodyLimit: { now(): number; ceiling: number };
  /** Services: registry, supervisor, logs (routes/services.ts). */
  services: Supervisor;
  /** The reverse proxy /svc/<name>/ (routes/proxy.ts, http/ws.ts). */
  proxy: ServiceProxy;
  /** The OpenAPI document, built on its first request (http/openapi.ts). */
  openapi(): Promise<unknown>;
  liveConfig: LiveConfigView;
  jobs: JobService;
  schedules: Scheduler;
  events: EventBus;
  streams: StreamSlots;
  /** The key of one callback receiver (a canonical receiver: crypto/callback-signing.ts); audited. */
  callbackSecret(actor: Actor, receiver: string): string;
  /** Hooks: the admin API (routes/hooks.ts) and deliveries to /hooks/<name> (routes/hook-deliveries.ts). */
  hooks: HookRegistry;
  hookReceiver: HookReceiver;
  triggers: TriggerService;
  tasks: TaskService;
  /** Signed action links (/actions/<token>, POST /api/v1/tasks/{id}/links). */
  links: ActionLinks;
  doctor: DoctorView;
  metrics: MetricsView;
}
