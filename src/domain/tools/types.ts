/** What a tool is (name, risk, argument schema, what it writes) and what one call carries. Types only. */
import type { TSchema } from '@sinclair/typebox';
import type { Roots } from '../workspaces/scope.js';
import type { Actor } from '../../api/actor.js';

/** `low`: reads; `medium`: changes inside the run's workspace, outbound fetches; `high`: commands, deletes, writes into mounts. */
export type Risk = 'low' | 'medium' | 'high';

/** The policy name of writes, moves and deletes in writable mounts (high risk). */
export const MOUNT_WRITE = 'mount.write';

export interface ToolCall<A> {
  args: A;
  runId: string;
  /** What the run may reach: its workspace and its mounts. */
  roots: Roots;
  actor: Actor;
  requestId?: string | undefined;
}

export interface ToolDefinition<A = never> {
  name: string;
  risk: Risk;
  /** One line for GET /api/v1/tools. */
  description: string;
  /** JSON Schema of `args` (TypeBox), compiled once. */
  args: TSchema;
  /** Client paths this call changes: a write into a mount is high risk, and refused in a read-only one. */
  writes?(args: A): string[];
  /** Why the tool cannot run on this gateway, or null. */
  unavailable?(): string | null;
  run(call: ToolCall<A>): Promise<unknown> | unknown;
}

/** The shape of the egress guard's request (src/egress): the only way a tool reaches the network. */
export interface FetchRequest {
  url: string;
  purpose: 'fetch';
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  actor?: Actor;
  requestId?: string;
}

export interface FetchResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  url: string;
}

/** Egress.request(): throws a GatewayError `egress_denied` when the guard refuses. */
export interface Fetcher {
  request(req: FetchRequest): Promise<FetchResponse>;
}
