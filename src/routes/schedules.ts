/**
 * /api/v1/schedules: cron schedules that submit jobs; add, list, pause, resume, run now, delete.
 * Any `jobs` token lists and reads them (no payloads); only the token that added one (or jobs:all,
 * admin) pauses, resumes, runs or deletes it.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Deleted, ScheduleList, ScheduleRun, ScheduleView } from '../api/jobs.js';
import { actorOf, jobViewerOf } from './actor.js';
import type { RouteDeps } from './deps.js';

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const Body = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
    cron: Type.String({ minLength: 1, maxLength: 120, description: 'Cron expression (5 or 6 fields).' }),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin (default: the host time zone).' })),
    service: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    payload: Type.Optional(Type.Unknown()),
    missed: Type.Optional(Type.Union([Type.Literal('run-once'), Type.Literal('skip')])),
  },
  { additionalProperties: false },
);
export function scheduleRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'schedules'>): void {
  const name = (req: { params: unknown }) => (req.params as Static<typeof NameParams>).name;
  app.post(
    '/api/v1/schedules',
    { config: { scope: 'jobs' }, schema: { summary: 'Add a schedule', tags: ['schedules'], body: Body, response: { 201: ScheduleView } } },
    async (req, reply) => reply.code(201).send(deps.schedules.add(req.body as Static<typeof Body>, actorOf(req))),
  );
  app.get(
    '/api/v1/schedules',
    { config: { scope: 'jobs' }, schema: { summary: 'List schedules', tags: ['schedules'], response: { 200: ScheduleList } } },
    async () => ({
      schedules: deps.schedules.list(),
    }),
  );
  app.get(
    '/api/v1/schedules/:name',
    { config: { scope: 'jobs' }, schema: { summary: 'A schedule', tags: ['schedules'], params: NameParams, response: { 200: ScheduleView } } },
    async (req) => deps.schedules.get(name(req)),
  );
  app.post(
    '/api/v1/schedules/:name/pause',
    { config: { scope: 'jobs' }, schema: { summary: 'Pause', tags: ['schedules'], params: NameParams, response: { 200: ScheduleView } } },
    async (req) => deps.schedules.setPaused(name(req), true, jobViewerOf(req)),
  );
  app.post(
    '/api/v1/schedules/:name/resume',
    { config: { scope: 'jobs' }, schema: { summary: 'Resume', tags: ['schedules'], params: NameParams, response: { 200: ScheduleView } } },
    async (req) => deps.schedules.setPaused(name(req), false, jobViewerOf(req)),
  );
  app.post(
    '/api/v1/schedules/:name/run',
    {
      config: { scope: 'jobs', rateClass: 'jobs' },
      schema: { summary: 'Submit its job now', tags: ['schedules'], params: NameParams, response: { 202: ScheduleRun } },
    },
    async (req, reply) => reply.code(202).send({ job: await deps.schedules.fire(name(req), 'manual', undefined, jobViewerOf(req)) }),
  );
  app.delete(
    '/api/v1/schedules/:name',
    { config: { scope: 'jobs' }, schema: { summary: 'Delete', tags: ['schedules'], params: NameParams, response: { 200: Deleted } } },
    async (req) => {
      deps.schedules.remove(name(req), jobViewerOf(req));
      return { deleted: true };
    },
  );
}
