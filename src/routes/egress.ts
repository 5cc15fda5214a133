/**
 * /api/v1/egress/check: would the egress guard let this URL out for this purpose now, and why.
 * Resolves the name but sends nothing to it. Admin only (an answer names internal addresses).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { EGRESS_PURPOSE_NAMES } from '../config/sections/egress.js';
import type { RouteDeps } from './deps.js';

const Purpose = Type.Union(
  EGRESS_PURPOSE_NAMES.map((p) => Type.Literal(p)),
  { description: 'Whose policy applies (egress.purposes.<purpose>). Default: callback.' },
);

const CheckBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 8192, description: 'The URL as a client would give it; it is not requested.' }),
    purpose: Type.Optional(Purpose),
  },
  { additionalProperties: false },
);

export const EgressCheckSchema = Type.Object({
  allowed: Type.Boolean(),
  reason: Type.String({ description: 'allowed, allowed_by_exception, or why not: loopback, private, metadata, unresolvable, unparseable, ...' }),
  addresses: Type.Array(Type.String(), { description: 'What the host resolved to (or the literal), each one checked.' }),
  rule: Type.Union([Type.String(), Type.Null()], { description: 'The rule that decided, e.g. 127.0.0.0/8 or allowCidrs 10.0.0.0/8; null for the default.' }),
  purpose: Purpose,
});

export function egressRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'egress'>): void {
  app.post(
    '/api/v1/egress/check',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Would this URL be allowed out now, and why (nothing is sent to it)',
        tags: ['egress'],
        body: CheckBody,
        response: { 200: EgressCheckSchema },
      },
    },
    async (req) => {
      const body = req.body as Static<typeof CheckBody>;
      const purpose = body.purpose ?? 'callback';
      return { ...(await deps.egress.check(body.url, purpose)), purpose };
    },
  );
}
