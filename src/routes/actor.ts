/** The acting principal of a request, as plain data for the domain. */
import type { FastifyRequest } from 'fastify';

export function actorOf(req: FastifyRequest): { id: string; name: string } {
  const p = req.moat?.principal;
  return p ? { id: p.id, name: p.name } : { id: 'anonymous', name: 'anonymous' };
}

/** Who is asking and from where, for domain calls that audit and scope by owner (runs, tools). */
export function callContextOf(req: FastifyRequest): {
  actor: { id: string; name: string };
  viewer: { id: string; admin: boolean };
  client: string;
  requestId: string;
} {
  const actor = actorOf(req);
  return {
    actor,
    viewer: { id: actor.id, admin: req.moat?.principal?.scopes.has('admin') ?? false },
    client: req.moat?.client ?? '',
    requestId: req.id,
  };
}
