/**
 * /api/v1/jobs: submit (202, durable first, Idempotency-Key), list, read, cancel, delete; and the
 * per-job progress URL a service posts to with its per-attempt token. A job belongs to the token
 * that submitted it: others with `jobs` or `read` get its summary, and cancel or delete only their
 * own; `jobs:all` and `admin` reach every job (domain/jobs/job-view.ts).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Deleted, JobList, JobView, ProgressTaken } from '../api/jobs.js';
import { GatewayError } from '../errors.js';
import { actorOf, jobViewerOf } from './actor.js';
import type { RouteDeps } from './deps.js';
import { IdParams } from './schemas.js';

const SERVICE = '^[a-z0-9][a-z0-9-]{0,62}$';

const SubmitBody = Type.Object(
  {
    service: Type.String({ pattern: SERVICE }),
    payload: Type.Optional(Type.Unknown({ description: 'Any JSON; sealed at rest, handed to the service as the body of its job POST.' })),
    callbackUrl: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'POSTed the outcome, signed with Moat-Signature (through the egress guard).' }),
    ),
    notify: Type.Optional(Type.Union([Type.Boolean(), Type.Array(Type.Union([Type.Literal('ntfy'), Type.Literal('webhook')]), { maxItems: 2 })])),
    priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100, description: 'Higher first; then first in, first out.' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800 })),
    run: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A run whose workspace is the context of the job.' })),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ pattern: SERVICE })),
    state: Type.Optional(Type.Union(['queued', 'dispatched', 'running', 'succeeded', 'failed', 'canceled'].map((s) => Type.Literal(s)))),
    mine: Type.Optional(Type.Boolean({ description: 'Only the jobs of the token asking.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9a-z]{1,12}$' })),
  },
  { additionalProperties: false },
);

const ProgressBody = Type.Object(
  { progress: Type.Number({ minimum: 0, maximum: 1 }), message: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

/** The scope a job submission needs; approving a task's job takes the same (routes/tasks.ts). */
export const SUBMIT_JOB_SCOPE = 'jobs';

export function jobRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'jobs'>): void {
  app.post(
    '/api/v1/jobs',
    {
      config: { scope: SUBMIT_JOB_SCOPE, rateClass: 'jobs' },
      schema: {
        summary: 'Submit a job (written to disk before the 202)',
        tags: ['jobs'],
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: SubmitBody,
        response: { 202: JobView },
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      const { id, name } = actorOf(req);
      const by = { id, name, admin: req.moat.principal?.scopes.has('admin') === true, all: jobViewerOf(req).all, requestId: req.id };
      const { job, replayed } = await deps.jobs.submit(req.body as Static<typeof SubmitBody>, by, typeof key === 'string' ? key : undefined);
      if (replayed) reply.header('idempotency-replayed', 'true');
      return reply.code(202).send(job);
    },
  );
  app.get(
    '/api/v1/jobs',
    {
      config: { scope: 'jobs' },
      schema: {
        summary: "List jobs, newest first (another token's as a summary)",
        tags: ['jobs'],
        querystring: ListQuery,
        response: { 200: JobList },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof ListQuery>;
      return deps.jobs.list({ service: q.service, state: q.state as never, mine: q.mine, limit: q.limit ?? 50, cursor: q.cursor }, jobViewerOf(req));
    },
  );
  app.get(
    '/api/v1/jobs/:id',
    {
      config: { scope: 'jobs' },
      schema: {
        summary: "A job, with its payload and result when it is yours (another token's: its summary)",
        tags: ['jobs'],
        params: IdParams,
        response: { 200: JobView },
      },
    },
    async (req) => deps.jobs.get((req.params as Static<typeof IdParams>).id, jobViewerOf(req)),
  );
  app.post(
    '/api/v1/jobs/:id/cancel',
    {
      config: { scope: 'jobs' },
      schema: { summary: 'Cancel a queued or running job of yours (any job: jobs:all)', tags: ['jobs'], params: IdParams, response: { 200: JobView } },
    },
    async (req) => deps.jobs.cancel((req.params as Static<typeof IdParams>).id, jobViewerOf(req)),
  );
  app.delete(
    '/api/v1/jobs/:id',
    {
      config: { scope: 'jobs' },
      schema: { summary: 'Delete a finished job of yours (any job: jobs:all)', tags: ['jobs'], params: IdParams, response: { 200: Deleted } },
    },
    async (req) => {
      deps.jobs.delete((req.params as Static<typeof IdParams>).id, jobViewerOf(req));
      return { deleted: true };
    },
  );
  app.post(
    '/api/v1/jobs/:id/progress',
    {
      // Many per job: counted in metrics, not audited one by one (the job's transitions are).
      config: { auth: 'job', rateClass: 'progress', auditWrites: false },
      schema: {
        summary: "A service reports progress (Authorization: Bearer <the attempt's progress token>)",
        tags: ['jobs'],
        params: IdParams,
        body: ProgressBody,
        response: { 200: ProgressTaken },
      },
    },
    async (req) => {
      const header = req.headers.authorization;
      if (typeof header !== 'string' || !/^bearer /i.test(header)) throw new GatewayError('auth_required', 'send Authorization: Bearer <progress token>');
      const body = req.body as Static<typeof ProgressBody>;
      deps.jobs.reportProgress((req.params as Static<typeof IdParams>).id, header.slice(7), body.progress, body.message ?? null);
      return { ok: true };
    },
  );
}
