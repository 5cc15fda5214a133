/** /api/v1/hooks: register, list, read and remove inbound hooks (admin). Secrets are write-only: views say set or unset. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { HookList, HookView } from '../api/hooks.js';
import { Deleted } from '../api/jobs.js';
import { HOOK_NAME_PATTERN, HookBodySchema } from '../config/sections/hooks.js';
import type { HookSpec } from '../domain/hooks/registry.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const NameParams = Type.Object({ name: Type.String({ pattern: HOOK_NAME_PATTERN }) }, { additionalProperties: false });
export function hookRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'hooks'>): void {
  const name = (req: { params: unknown }) => (req.params as Static<typeof NameParams>).name;
  app.post(
    '/api/v1/hooks',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Register a hook (its secret is never shown again)', tags: ['hooks'], body: HookBodySchema, response: { 201: HookView } },
    },
    async (req, reply) => reply.code(201).send(deps.hooks.add(req.body as HookSpec, actorOf(req).id)),
  );
  app.get(
    '/api/v1/hooks',
    { config: { scope: 'admin' }, schema: { summary: 'List hooks (secrets as set/unset)', tags: ['hooks'], response: { 200: HookList } } },
    async () => ({
      hooks: deps.hooks.list(),
    }),
  );
  app.get(
    '/api/v1/hooks/:name',
    { config: { scope: 'admin' }, schema: { summary: 'A hook', tags: ['hooks'], params: NameParams, response: { 200: HookView } } },
    async (req) => deps.hooks.view(name(req)),
  );
  app.delete(
    '/api/v1/hooks/:name',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Remove a hook registered through the API', tags: ['hooks'], params: NameParams, response: { 200: Deleted } },
    },
    async (req) => {
      deps.hooks.remove(name(req));
      return { deleted: true };
    },
  );
}
