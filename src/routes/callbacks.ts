/** GET /api/v1/callbacks/secret: the per-install secret that signs callbacks (admin; the read is audited). */
import type { FastifyInstance } from 'fastify';
import { CallbackSecret } from '../api/jobs.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

export function callbackRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'callbackSecret'>): void {
  app.get(
    '/api/v1/callbacks/secret',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'The callback signing secret (verify Moat-Signature with it)',
        tags: ['jobs'],
        response: { 200: CallbackSecret },
      },
    },
    async (req) => ({
      secret: deps.callbackSecret(actorOf(req)),
      header: 'Moat-Signature',
      scheme: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>',
    }),
  );
}
