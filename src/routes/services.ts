/**
 * /api/v1/services: the registry and the supervisor. List and show (scope `services`, or `read`
 * without probe details), register, change and delete API services (admin: any loopback target;
 * `services`: the operator's supervisor.apiTargets), start/stop/restart, and captured logs (not `read`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SERVICE_NAME_PATTERN, serviceSchema } from '../config/sections/services.js';
import type { ServiceSpec } from '../domain/services/index.js';
import { withoutProbeDetail } from '../domain/supervisor/status.js';
import { scopeHeld } from '../crypto/scopes.js';
import { actorOf, callContextOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const NameParams = Type.Object({ name: Type.String({ pattern: SERVICE_NAME_PATTERN }) }, { additionalProperties: false });

export const ServiceStatusSchema = Type.Object({
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
  health: Type.Object({ path: Nullable(Type.String({ description: 'null: GET / answering below 500 is healthy' })), intervalMs: Type.Integer(), timeoutMs: Type.Integer(), healthyThreshold: Type.Integer(), unhealthyThreshold: Type.Integer() }),
  restart: Type.Object({ policy: Type.String(), initialDelayMs: Type.Integer(), maxDelayMs: Type.Integer(), maxAttempts: Type.Integer(), resetAfterMs: Type.Integer() }),
  startTimeoutMs: Type.Integer(),
  idleStopAfter: Type.Number(),
  autoStart: Type.Boolean(),
});

const RegisterBody = serviceSchema({ defaults: true, operator: false });
const PatchBody = serviceSchema({ defaults: false, operator: false, partial: true });

const LogsQuery = Type.Object(
  {
    tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 100, description: 'Newest lines to return' })),
    after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Only lines with a larger seq (for following)' })),
  },
  { additionalProperties: false },
);
const LogLineSchema = Type.Object({ seq: Type.Integer(), ts: Type.String(), stream: Type.String(), line: Type.String() });

const name = (req: { params: unknown }) => (req.params as Static<typeof NameParams>).name;

/** Whether the caller manages services (scope `services` or admin): probe details are for them only. */
const manages = (req: FastifyRequest) => scopeHeld(req.moat?.principal?.scopes ?? new Set(), 'services');
const caller = (req: FastifyRequest) => ({ admin: callContextOf(req).viewer.admin });

export function serviceRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'services'>): void {
  const sup = deps.services;
  const config = { scope: 'services' } as const;
  const tags = ['services'];

  app.get(
    '/api/v1/services',
    { config, schema: { summary: 'List services with their state', tags, response: { 200: Type.Object({ services: Type.Array(ServiceStatusSchema) }) } } },
    async (req) => ({ services: manages(req) ? sup.list() : sup.list().map(withoutProbeDetail) }),
  );
  app.get(
    '/api/v1/services/:name',
    { config, schema: { summary: 'A service: state, pid, uptime, restarts, last health result, last exit', tags, params: NameParams, response: { 200: ServiceStatusSchema } } },
    async (req) => (manages(req) ? sup.status(name(req)) : withoutProbeDetail(sup.status(name(req)))),
  );
  app.post(
    '/api/v1/services',
    {
      config,
      schema: {
        summary: 'Register a service (url services; command services only with supervisor.allowApiCommands; without admin, only supervisor.apiTargets)',
        tags,
        body: RegisterBody,
        response: { 201: ServiceStatusSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await sup.register(req.body as ServiceSpec, actorOf(req), caller(req))),
  );
  app.patch(
    '/api/v1/services/:name',
    {
      config,
      schema: {
        summary: 'Change a service registered through the API; a change of command, env, cwd or baseUrl restarts it',
        tags,
        params: NameParams,
        body: PatchBody,
        response: { 200: ServiceStatusSchema },
      },
    },
    async (req) => sup.update(name(req), req.body as Record<string, unknown>, actorOf(req), caller(req)),
  );
  app.delete(
    '/api/v1/services/:name',
    {
      config,
      schema: { summary: 'Stop and delete a service registered through the API', tags, params: NameParams, response: { 200: Type.Object({ deleted: Type.Boolean(), name: Type.String() }) } },
    },
    async (req) => {
      await sup.remove(name(req), actorOf(req));
      return { deleted: true, name: name(req) };
    },
  );
  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/api/v1/services/:name/${action}`,
      { config, schema: { summary: `${action[0]?.toUpperCase()}${action.slice(1)} a service`, tags, params: NameParams, response: { 200: ServiceStatusSchema } } },
      async (req) => (action === 'start' ? sup.start(name(req), actorOf(req)) : action === 'stop' ? sup.stop(name(req), actorOf(req)) : sup.restart(name(req), actorOf(req))),
    );
  }
  app.get(
    '/api/v1/services/:name/logs',
    {
      // A service's output can hold what clients sent it (prompts, payloads): not for `read`.
      config: { scope: { exact: 'services' } },
      schema: {
        summary: "A service's captured stdout/stderr, newest last",
        tags,
        params: NameParams,
        querystring: LogsQuery,
        response: { 200: Type.Object({ lines: Type.Array(LogLineSchema), lastSeq: Type.Integer() }) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof LogsQuery>;
      return sup.logs(name(req), q.tail ?? 100, q.after ?? 0);
    },
  );
}
