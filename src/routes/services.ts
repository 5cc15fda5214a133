/**
 * /api/v1/services: the registry and the supervisor. List and show (scope `services`, or `read`
 * without probe details), register, change and delete API services (admin: any loopback target;
 * `services`: the operator's supervisor.apiTargets), start/stop/restart, and captured logs (not `read`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SERVICE_NAME_PATTERN, ServiceDeleted, ServiceList, ServiceLogs, ServiceStatus } from '../api/services.js';
import { serviceSchema } from '../config/sections/services.js';
import type { ServiceSpec } from '../domain/services/index.js';
import { withoutProbeDetail } from '../domain/supervisor/status.js';
import { scopeHeld } from '../crypto/scopes.js';
import { actorOf, callContextOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const NameParams = Type.Object({ name: Type.String({ pattern: SERVICE_NAME_PATTERN }) }, { additionalProperties: false });

const RegisterBody = serviceSchema({ defaults: true, operator: false });
const PatchBody = serviceSchema({ defaults: false, operator: false, partial: true });

const LogsQuery = Type.Object(
  {
    tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 100, description: 'Newest lines to return' })),
    after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Only lines with a larger seq (for following)' })),
  },
  { additionalProperties: false },
);
const name = (req: { params: unknown }) => (req.params as Static<typeof NameParams>).name;

/** Whether the caller manages services (scope `services` or admin): probe details are for them only. */
const manages = (req: FastifyRequest) => scopeHeld(req.moat?.principal?.scopes ?? new Set(), 'services');
const caller = (req: FastifyRequest) => ({ admin: callContextOf(req).viewer.admin });

export function serviceRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'services'>): void {
  const sup = deps.services;
  const config = { scope: 'services' } as const;
  const tags = ['services'];

  app.get('/api/v1/services', { config, schema: { summary: 'List services with their state', tags, response: { 200: ServiceList } } }, async (req) => ({
    services: manages(req) ? sup.list() : sup.list().map(withoutProbeDetail),
  }));
  app.get(
    '/api/v1/services/:name',
    {
      config,
      schema: { summary: 'A service: state, pid, uptime, restarts, last health result, last exit', tags, params: NameParams, response: { 200: ServiceStatus } },
    },
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
        response: { 201: ServiceStatus },
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
        response: { 200: ServiceStatus },
      },
    },
    async (req) => sup.update(name(req), req.body as Record<string, unknown>, actorOf(req), caller(req)),
  );
  app.delete(
    '/api/v1/services/:name',
    {
      config,
      schema: { summary: 'Stop and delete a service registered through the API', tags, params: NameParams, response: { 200: ServiceDeleted } },
    },
    async (req) => {
      await sup.remove(name(req), actorOf(req));
      return { deleted: true, name: name(req) };
    },
  );
  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/api/v1/services/:name/${action}`,
      { config, schema: { summary: `${action[0]?.toUpperCase()}${action.slice(1)} a service`, tags, params: NameParams, response: { 200: ServiceStatus } } },
      async (req) =>
        action === 'start' ? sup.start(name(req), actorOf(req)) : action === 'stop' ? sup.stop(name(req), actorOf(req)) : sup.restart(name(req), actorOf(req)),
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
        response: { 200: ServiceLogs },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof LogsQuery>;
      return sup.logs(name(req), q.tail ?? 100, q.after ?? 0);
    },
  );
}
