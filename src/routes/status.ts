/** GET /api/v1/status and GET /api/v1/openapi.json. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { RouteDeps } from './deps.js';

const Status = Type.Object({
  version: Type.String(),
  bind: Type.Object({ address: Type.String(), port: Type.Integer(), class: Type.String() }),
  tls: Type.Object({ enabled: Type.Boolean(), fingerprint: Type.Union([Type.String(), Type.Null()]) }),
  auth: Type.Object({ enabled: Type.Boolean() }),
  uptimeSeconds: Type.Number(),
});

export function statusRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'status' | 'openapi'>): void {
  app.get(
    '/api/v1/status',
    { config: { scope: 'read' }, schema: { summary: 'Gateway status', tags: ['gateway'], response: { 200: Status } } },
    async () => deps.status(),
  );
  app.get(
    '/api/v1/openapi.json',
    {
      config: { scope: 'read' },
      schema: { summary: 'This OpenAPI document', tags: ['gateway'], response: { 200: Type.Object({}, { additionalProperties: true }) } },
    },
    async () => deps.openapi(),
  );
}
