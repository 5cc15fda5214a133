/** GET /api/v1/status and GET /api/v1/openapi.json. */
import type { FastifyInstance } from 'fastify';
import { AnyObject, Status } from '../api/gateway.js';
import type { RouteDeps } from './deps.js';

export function statusRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'status' | 'openapi'>): void {
  app.get('/api/v1/status', { config: { scope: 'read' }, schema: { summary: 'Gateway status', tags: ['gateway'], response: { 200: Status } } }, async () =>
    deps.status(),
  );
  app.get(
    '/api/v1/openapi.json',
    {
      config: { scope: 'read' },
      schema: { summary: 'This OpenAPI document', tags: ['gateway'], response: { 200: AnyObject } },
    },
    async () => deps.openapi(),
  );
}
