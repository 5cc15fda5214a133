/** The acting principal of a request, as plain data for the domain. */
import type { FastifyRequest } from 'fastify';

export function actorOf(req: FastifyRequest): { id: string; name: string } {
  const p = req.moat?.principal;
  return p ? { id: p.id, name: p.name } : { id: 'anonymous', name: 'anonymous' };
}
