/**
 * GET /api/v1/callbacks/secret?for=<callback URL>: the key that signs moat's POSTs to that receiver
 * (admin; each read is audited). Keys are per receiver: one never verifies what was sent elsewhere.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { CallbackSecret } from '../api/jobs.js';
import { callbackReceiver } from '../crypto/callback-signing.js';
import { GatewayError } from '../errors.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const Query = Type.Object(
  {
    for: Type.String({
      minLength: 1,
      maxLength: 2048,
      // Control characters and blanks: the URL parser would drop some silently, so the key would be for another spelling than the one shown.
      pattern: '^[^\\s\\x00-\\x1f\\x7f]+$',
      description: 'The exact URL callbacks (or notifications) are POSTed to, e.g. https://moat2.example.com/hooks/from-moat1.',
    }),
  },
  { additionalProperties: false },
);

export function callbackRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'callbackSecret'>): void {
  app.get(
    '/api/v1/callbacks/secret',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'The key that signs callbacks to one receiver (verify Moat-Signature v2 with it)',
        tags: ['jobs'],
        querystring: Query,
        response: { 200: CallbackSecret },
      },
    },
    async (req) => {
      const receiver = callbackReceiver((req.query as Static<typeof Query>).for);
      if (receiver === undefined)
        throw new GatewayError('validation_failed', 'for must be an absolute http(s) URL without credentials: where the callbacks go');
      return {
        receiver,
        secret: deps.callbackSecret(actorOf(req), receiver),
        header: 'Moat-Signature',
        scheme: 't=<unix seconds>,v2=<hex HMAC-SHA256(secret, "<t>.<raw body>")>',
      };
    },
  );
}
