/** /api/v1/runs: create a run (with its own workspace), read, list, delete (its workspace goes too). Scope tools. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { RunList, RunView } from '../api/runs.js';
import { MOUNT_NAME_PATTERN } from '../config/sections/tools.js';
import { callContextOf } from './actor.js';
import type { RouteDeps } from './deps.js';
import { IdParams } from './schemas.js';

const CreateBody = Type.Object(
  {
    service: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'The service this run is for.' })),
    input: Type.Optional(Type.Unknown({ description: 'Any JSON kept with the run (at most 64 KiB).' })),
    workspace: Type.Optional(
      Type.Object(
        {
          mounts: Type.Optional(
            Type.Array(Type.String({ pattern: MOUNT_NAME_PATTERN }), { maxItems: 64, description: 'Names of operator mounts to include (never host paths).' }),
          ),
          root: Type.Optional(Type.String({ maxLength: 4096, description: "With workspaces.allowClientScope only: a root under the operator's base." })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false });

export function runRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'workspaces'>): void {
  app.post(
    '/api/v1/runs',
    {
      config: { scope: 'tools' },
      schema: { summary: 'Create a run with a workspace of its own', tags: ['runs'], body: CreateBody, response: { 201: RunView } },
    },
    async (req, reply) => reply.code(201).send(deps.workspaces.create(req.body as Static<typeof CreateBody>, callContextOf(req))),
  );
  app.get(
    '/api/v1/runs',
    {
      config: { scope: 'tools' },
      schema: { summary: 'List runs (newest first; a token sees its own, admin sees all)', tags: ['runs'], querystring: ListQuery, response: { 200: RunList } },
    },
    async (req) => ({ runs: deps.workspaces.list(callContextOf(req).viewer, (req.query as Static<typeof ListQuery>).limit ?? 100) }),
  );
  app.get(
    '/api/v1/runs/:id',
    { config: { scope: 'tools' }, schema: { summary: 'A run', tags: ['runs'], params: IdParams, response: { 200: RunView } } },
    async (req) => deps.workspaces.get((req.params as Static<typeof IdParams>).id, callContextOf(req).viewer),
  );
  app.delete(
    '/api/v1/runs/:id',
    { config: { scope: 'tools' }, schema: { summary: 'Delete a run and its workspace', tags: ['runs'], params: IdParams, response: { 200: RunView } } },
    async (req) => deps.workspaces.delete((req.params as Static<typeof IdParams>).id, callContextOf(req)),
  );
}
