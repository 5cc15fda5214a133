/**
 * /api/v1/egress/check: would the egress guard let this URL out for this purpose now, and why.
 * Resolves the name but sends nothing to it. Admin only (an answer names internal addresses).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { EgressCheck, EgressPurpose } from '../api/egress.js';
import type { RouteDeps } from './deps.js';

const CheckBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 8192, description: 'The URL as a client would give it; it is not requested.' }),
    purpose: Type.Optional(EgressPurpose),
  },
  { additionalProperties: false },
);

export function egressRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'egress'>): void {
  app.post(
    '/api/v1/egress/check',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Would this URL be allowed out now, and why (nothing is sent to it)',
        tags: ['egress'],
        body: CheckBody,
        response: { 200: EgressCheck },
      },
    },
    async (req) => {
      const body = req.body as Static<typeof CheckBody>;
      const purpose = body.purpose ?? 'callback';
      return { ...(await deps.egress.check(body.url, purpose)), purpose };
    },
  );
}
