/** The acting principal of a request, as plain data for the domain. */
import type { FastifyRequest } from 'fastify';
import { seesAllJobs } from '../crypto/scopes.js';
import type { Actor } from '../api/actor.js';

export function actorOf(req: FastifyRequest): Actor {
  const p = req.moat?.principal;
  return p ? { id: p.id, name: p.name } : { id: 'anonymous', name: 'anonymous' };
}

/** Who is asking and from where, for domain calls that audit and scope by owner (runs, tools). */
export function callContextOf(req: FastifyRequest): {
  actor: Actor;
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

/**
 * Who reads or acts on jobs and schedules: the principal's id (a job's owner is compared with it;
 * a future browser session's principal id works the same way) and whether it reaches every one
 * (admin, jobs:all).
 */
export function jobViewerOf(req: FastifyRequest): { id: string; all: boolean } {
  const p = req.moat?.principal;
  return p ? { id: p.id, all: seesAllJobs(p.scopes) } : { id: 'anonymous', all: false };
}
