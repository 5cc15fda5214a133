/**
 * Pairing: POST /api/v1/pairing-codes (admin) mints a code (a console code also gets a sign-in link);
 * POST /api/v1/pair trades a token code for a token (console codes: routes/sessions.ts).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { PairingCodeMinted, Paired } from '../api/identity.js';
import { GatewayError } from '../errors.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const MintBody = Type.Object(
  {
    scopes: Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { minItems: 1, maxItems: 32 }),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400, description: 'Lifetime of the code (default 300)' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Name of the token the code will create' })),
    tokenTtlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 10 * 365 * 86_400, description: 'Lifetime of that token (default: none)' })),
    console: Type.Optional(
      Type.Boolean({
        description:
          'Redeems for a console session (POST /api/v1/console/session) instead of a token; the answer carries a sign-in link. May carry admin, then without digits.',
      }),
    ),
  },
  { additionalProperties: false },
);

const PairBody = Type.Union([Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }), Type.Null()]);

export function pairingRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'pairing'>): void {
  app.post(
    '/api/v1/pairing-codes',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Mint a single-use pairing code', tags: ['pairing'], body: MintBody, response: { 201: PairingCodeMinted } },
    },
    async (req, reply) => reply.code(201).send(deps.pairing.mint(req.body as Static<typeof MintBody>, actorOf(req))),
  );
  app.post(
    '/api/v1/pair',
    {
      config: { auth: 'pairing', rateClass: 'pair' },
      schema: {
        summary: 'Trade a pairing code (header X-Pairing-Code) for a token, once',
        tags: ['pairing'],
        headers: Type.Object({ 'x-pairing-code': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: PairBody,
        response: { 201: Paired },
      },
    },
    async (req, reply) => {
      const code = req.headers['x-pairing-code'];
      if (typeof code !== 'string') throw new GatewayError('pairing_code_invalid', 'send the code in the X-Pairing-Code header');
      const name = (req.body as Static<typeof PairBody> | undefined)?.name;
      const { token, view } = deps.pairing.redeem(code.trim(), name, req.moat.client);
      return reply.code(201).send({ token, id: view.id, name: view.name, scopes: view.scopes, expiresAt: view.expiresAt });
    },
  );
}
