/** GET /api/v1/workspace/policy: the workspace mode and the mount names a run may include; never a host path. Scope tools. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { RouteDeps } from './deps.js';

const Policy = Type.Object({
  mode: Type.Union([Type.Literal('per-run'), Type.Literal('client-scope')], {
    description: '`per-run`: every run gets a workspace of its own; `client-scope`: a client may choose a root under the operator\'s base.',
  }),
  mounts: Type.Array(Type.Object({ name: Type.String(), readOnly: Type.Boolean() })),
});

export function workspaceRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'workspaces'>): void {
  app.get(
    '/api/v1/workspace/policy',
    { config: { scope: 'tools' }, schema: { summary: 'Workspace mode and mount names (never host paths)', tags: ['runs'], response: { 200: Policy } } },
    async () => deps.workspaces.policy(),
  );
}
