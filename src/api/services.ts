/** What the API answers about services (/api/v1/services), and the shape of a service name. Schema only. */
import { Type, type Static } from '@sinclair/typebox';

/** Service names: the `svc:<name>` scope, a URL segment and a directory name, so nothing else. */
export const SERVICE_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ServiceStatus = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  source: Type.String({ description: '`config` (the config file), `runtime` (live config: PATCH /api/v1/config), both read-only here, or `api`' }),
  state: Type.String({ description: 'stopped, starting, healthy, unhealthy, stopping, crashed, backoff or failed' }),
  baseUrl: Type.String(),
  tags: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  pid: Nullable(Type.Integer()),
  startedAt: Nullable(Type.String()),
  uptimeSeconds: Nullable(Type.Integer()),
  restarts: Type.Integer({ description: 'Automatic restarts since the last start by the operator' }),
  failuresInARow: Type.Integer(),
  nextRestartAt: Nullable(Type.String()),
  activeRequests: Type.Integer(),
  lastExit: Nullable(Type.Object({ code: Nullable(Type.Integer()), signal: Nullable(Type.String()), error: Nullable(Type.String()), at: Type.String() })),
  lastHealth: Nullable(
    Type.Object(
      { ok: Type.Boolean(), status: Nullable(Type.Integer()), error: Nullable(Type.String()), ms: Type.Number(), at: Type.String() },
      { description: 'The last probe since the service was started (null when stopped); status and error only for scope services or admin' },
    ),
  ),
  command: Nullable(Type.Array(Type.String())),
  cwd: Nullable(Type.String()),
  image: Nullable(Type.String({ description: 'The image of a container service' })),
  containerId: Nullable(Type.String({ description: "A container service's container while one exists (12 characters)" })),
  envKeys: Type.Array(Type.String(), { description: 'Names of the extra environment variables (values are never shown)' }),
  upstreamHeaders: Type.Array(Type.String(), { description: 'Names of the headers moat adds upstream (values are never shown)' }),
  allowNonLoopback: Type.Boolean(),
  health: Type.Object({
    path: Nullable(Type.String({ description: 'null: GET / answering below 500 is healthy' })),
    intervalMs: Type.Integer(),
    timeoutMs: Type.Integer(),
    healthyThreshold: Type.Integer(),
    unhealthyThreshold: Type.Integer(),
  }),
  restart: Type.Object({
    policy: Type.String(),
    initialDelayMs: Type.Integer(),
    maxDelayMs: Type.Integer(),
    maxAttempts: Type.Integer(),
    resetAfterMs: Type.Integer(),
  }),
  startTimeoutMs: Type.Integer(),
  idleStopAfter: Type.Number(),
  autoStart: Type.Boolean(),
});
export type ServiceStatus = Static<typeof ServiceStatus>;

export const ServiceList = Type.Object({ services: Type.Array(ServiceStatus) });
export type ServiceList = Static<typeof ServiceList>;

export const ServiceDeleted = Type.Object({ deleted: Type.Boolean(), name: Type.String() });
export type ServiceDeleted = Static<typeof ServiceDeleted>;

export const LogLine = Type.Object({ seq: Type.Integer(), ts: Type.String(), stream: Type.String(), line: Type.String() });
export type LogLine = Static<typeof LogLine>;

export const ServiceLogs = Type.Object({ lines: Type.Array(LogLine), lastSeq: Type.Integer() });
export type ServiceLogs = Static<typeof ServiceLogs>;
