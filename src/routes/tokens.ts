/** /api/v1/tokens: create (secret shown once), list, revoke, rotate the admin token. Admin only. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AdminTokenRotated, TokenCreated, TokenList, TokenView } from '../api/identity.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';
import { IdParams } from './schemas.js';

const ScopeList = Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { minItems: 1, maxItems: 32 });
const TEN_YEARS = 10 * 365 * 86_400;

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    scopes: ScopeList,
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: TEN_YEARS })),
  },
  { additionalProperties: false },
);

export function tokenRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'tokens'>): void {
  app.post(
    '/api/v1/tokens',
    { config: { scope: 'admin' }, schema: { summary: 'Create a scoped token', tags: ['tokens'], body: CreateBody, response: { 201: TokenCreated } } },
    async (req, reply) => {
      const body = req.body as Static<typeof CreateBody>;
      const { token, view } = deps.tokens.create(body, actorOf(req));
      return reply.code(201).send({ token, ...view });
    },
  );
  app.get(
    '/api/v1/tokens',
    {
      config: { scope: 'admin' },
      schema: { summary: 'List tokens (never their secrets)', tags: ['tokens'], response: { 200: TokenList } },
    },
    async () => ({ tokens: deps.tokens.list() }),
  );
  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Revoke a token (by id or name)', tags: ['tokens'], params: IdParams, response: { 200: TokenView } },
    },
    async (req) => deps.tokens.revoke((req.params as Static<typeof IdParams>).id, actorOf(req)),
  );
  app.post(
    '/api/v1/tokens/rotate-admin',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Rotate the admin token in <dataDir>/gateway-token',
        tags: ['tokens'],
        response: { 200: AdminTokenRotated },
      },
    },
    async (req) => ({ rotated: true, ...deps.tokens.rotateAdmin(actorOf(req)) }),
  );
}
