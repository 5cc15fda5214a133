/** POST /api/v1/triggers/<path>: runs the action the config's `triggers` maps the path to (scope hooks, rate class hooks). */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TriggerCalled } from '../api/hooks.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';

export function triggerRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'triggers'>): void {
  app.post(
    '/api/v1/triggers/*',
    {
      config: { scope: 'hooks', rateClass: 'hooks' },
      schema: {
        summary: 'Call a trigger: placeholders are filled from the query and the JSON body',
        tags: ['hooks'],
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 200 })) }),
        body: Type.Optional(Type.Unknown()),
        response: { 200: TriggerCalled, 202: TriggerCalled },
      },
    },
    async (req, reply) => {
      try {
        const outcome = await deps.triggers.call({
          path: (req.params as { '*': string })['*'],
          body: req.body,
          query: req.query as Record<string, unknown>,
          headers: req.headers,
          actor: Object.assign(actorOf(req), { admin: req.moat.principal?.scopes.has('admin') === true }),
          client: req.moat.client,
          requestId: req.id,
        });
        return reply.code(outcome.duplicate ? 200 : 202).send({ accepted: !outcome.duplicate, ...outcome });
      } finally {
        req.moat.audited = true; // audited as trigger.call
      }
    },
  );
}
