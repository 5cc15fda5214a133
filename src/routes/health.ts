/**
 * GET /api/v1/health: the one unauthenticated route; says ok or draining and nothing else. It is
 * outside every in-flight budget (a full gateway still answers it) and exempt from the drain.
 */
import type { FastifyInstance } from 'fastify';
import { Health } from '../api/gateway.js';
import type { RouteDeps } from './deps.js';

export function healthRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'isDraining'>): void {
  app.get(
    '/api/v1/health',
    {
      config: { auth: 'none' },
      schema: { summary: 'Liveness (no authentication)', tags: ['gateway'], response: { 200: Health, 503: Health } },
    },
    async (req, reply) => {
      if (deps.isDraining()) {
        // Load balancers reconnect for their next check (and hear draining again until the port closes).
        if (req.raw.httpVersionMajor === 1) reply.header('connection', 'close');
        return reply.code(503).header('retry-after', '5').send({ status: 'draining' });
      }
      return { status: 'ok' };
    },
  );
}
