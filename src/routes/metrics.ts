/**
 * GET /metrics: Prometheus text format (scope metrics). Without a token only when the operator set
 * metrics.public, which the boot matrix allows on loopback binds alone (decided at registration).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './deps.js';

/** The Prometheus text exposition format, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function metricsRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'metrics'>): void {
  app.get(
    '/metrics',
    {
      config: deps.metrics.public ? { auth: 'none', raw: true } : { scope: 'metrics', raw: true },
      schema: { summary: 'Prometheus metrics (text/plain; version=0.0.4)', tags: ['metrics'] },
    },
    async (_req, reply) => {
      const text = await deps.metrics.text();
      return reply.type(METRICS_CONTENT_TYPE).send(text);
    },
  );
}
