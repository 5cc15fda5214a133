/**
 * GET /api/v1/config: the effective configuration (secrets redacted) and the source of each value.
 * PATCH /api/v1/config: an RFC 7396 merge patch of the live keys, validated whole before it applies.
 * Admin only; every change is audited with the keys it touched.
 */
import type { FastifyInstance } from 'fastify';
import { AnyObject, ConfigView } from '../api/gateway.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

export function configRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'liveConfig'>): void {
  // RFC 7396 names its media type; plain JSON is accepted too.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.get(
    '/api/v1/config',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Effective configuration (secrets redacted) and sources', tags: ['config'], response: { 200: ConfigView } },
    },
    async () => deps.liveConfig.view(),
  );
  app.patch(
    '/api/v1/config',
    {
      config: { scope: 'admin' },
      schema: {
        summary:
          'Change live settings (RFC 7396 merge patch of services, hooks, triggers, tools, egress, rateLimit, allowedOrigins, publicNames, notifications, mounts)',
        tags: ['config'],
        body: AnyObject,
        response: { 200: ConfigView },
      },
    },
    async (req) => deps.liveConfig.patch(req.body, actorOf(req)),
  );
}
