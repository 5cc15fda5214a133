/**
 * What the job queue needs from the rest of the house, as interfaces: the services that run jobs
 * (registry + supervisor + the operator-service client) and the egress guard for callbacks and
 * notifications. gateway.ts wires the implementations.
 */
import type { Actor } from '../../api/actor.js';

export interface DispatchRequest {
  jobId: string;
  attempt: number;
  payload: unknown;
  /** Where the service may POST progress, with this bearer token (valid for this attempt only). */
  progressUrl: string | null;
  progressToken: string;
  signal: AbortSignal;
  /** Largest response body read; more fails the attempt. */
  maxResultBytes: number;
  /** Host path of the workspace of the job's run, when it has one. */
  workspace: string | null;
}

export interface DispatchResult {
  status: number;
  body: unknown;
}

export interface JobServicePort {
  /** Undefined when no such service is registered. */
  concurrency(service: string): number | undefined;
  /** Whether the service is healthy now (a job can be handed over without waiting). */
  isReady(service: string): boolean;
  /** Starts a stopped `command` service on demand and waits until it is healthy. */
  ensureRunning(service: string, timeoutMs: number): Promise<void>;
  /** POSTs the payload to the service's job path; resolves with its answer. */
  dispatch(service: string, req: DispatchRequest): Promise<DispatchResult>;
  /** Tells the service to stop a job (best effort). */
  cancel(service: string, jobId: string): Promise<void>;
  /** The service's own view of a job's progress (polled), or null. */
  progress(service: string, jobId: string): Promise<{ progress: number; message: string | null } | null>;
  /** Resets the service's idle timer. */
  noteActivity(service: string): void;
}

export interface OutboundRequest {
  url: string;
  purpose: 'callback' | 'notify';
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface OutboundPort {
  request(req: OutboundRequest): Promise<{ status: number; body: Buffer }>;
  /** Whether `url` may be used for `purpose`; a refusal is audited (as egress.blocked) with `actor`. */
  check(url: string, purpose: 'callback' | 'notify', who?: { actor?: Actor; requestId?: string }): Promise<{ allowed: boolean; reason: string }>;
}
