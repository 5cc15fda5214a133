/** GET /api/v1/workspace/policy: the workspace mode and the mount names a run may include; never a host path. Scope tools. */
import type { FastifyInstance } from 'fastify';
import { WorkspacePolicy } from '../api/runs.js';
import type { RouteDeps } from './deps.js';

export function workspaceRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'workspaces'>): void {
  app.get(
    '/api/v1/workspace/policy',
    {
      config: { scope: 'tools' },
      schema: { summary: 'Workspace mode and mount names (never host paths)', tags: ['runs'], response: { 200: WorkspacePolicy } },
    },
    async () => deps.workspaces.policy(),
  );
}
