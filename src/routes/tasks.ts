/**
 * /api/v1/tasks: tasks with comments, an event log, reviews (approve/reject; an approved task's
 * pending job is then submitted) and signed action links for a notification. Scope tasks; tasks are
 * shared by every `tasks` token (a review board). Approving a task that holds a job, or minting its
 * links, also takes the scope that submits the job (SUBMIT_JOB_SCOPE), checked by the domain.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SERVICE_NAME_PATTERN } from '../api/services.js';
import { Deleted } from '../api/jobs.js';
import { TaskComment, TaskEvents, TaskLinks, TaskList, TaskStateSchema, TaskView } from '../api/tasks.js';
import { scopeAllows } from '../crypto/scopes.js';
import { MAX_LINK_TTL_SECONDS } from '../domain/tasks/links.js';
import { actorOf } from './actor.js';
import { SUBMIT_JOB_SCOPE } from './jobs.js';
import type { RouteDeps } from './deps.js';
import { IdParams } from './schemas.js';

const CreateBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 500 }),
    body: Type.Optional(Type.String({ maxLength: 20_000 })),
    job: Type.Optional(
      Type.Object(
        { service: Type.String({ pattern: SERVICE_NAME_PATTERN }), payload: Type.Optional(Type.Unknown()) },
        { additionalProperties: false, description: 'A job that runs only once the task is approved (the task starts pending_approval).' },
      ),
    ),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    body: Type.Optional(Type.Union([Type.String({ maxLength: 20_000 }), Type.Null()])),
    state: Type.Optional(Type.Union([Type.Literal('done'), Type.Literal('canceled')])),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    state: Type.Optional(TaskStateSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9a-z]{1,12}$' })),
  },
  { additionalProperties: false },
);
const CommentBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 20_000 }) }, { additionalProperties: false });
const ReviewBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
    comment: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000 })),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'The task version the reviewer read: a task changed since is refused (409 conflict).' })),
  },
  { additionalProperties: false },
);
const LinksBody = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: MAX_LINK_TTL_SECONDS, description: 'Default tasks.linkTtlSeconds (24 h); 7 days at most.' }),
    ),
  },
  { additionalProperties: false },
);
/** The principal reviewing, and whether it could submit the task's job itself. */
function reviewerOf(req: FastifyRequest) {
  const { id, name } = actorOf(req);
  return { id, name, maySubmitJobs: scopeAllows(req.moat.principal?.scopes ?? new Set(), SUBMIT_JOB_SCOPE, 'POST') };
}

export function taskRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'tasks' | 'links'>): void {
  const id = (req: { params: unknown }) => (req.params as Static<typeof IdParams>).id;
  const cfg = { scope: 'tasks' } as const;
  app.post(
    '/api/v1/tasks',
    { config: cfg, schema: { summary: 'Create a task (with a job: pending_approval)', tags: ['tasks'], body: CreateBody, response: { 201: TaskView } } },
    async (req, reply) => reply.code(201).send(deps.tasks.create(req.body as Static<typeof CreateBody>, actorOf(req), 'api')),
  );
  app.get(
    '/api/v1/tasks',
    { config: cfg, schema: { summary: 'List tasks, newest first', tags: ['tasks'], querystring: ListQuery, response: { 200: TaskList } } },
    async (req) => {
      const q = req.query as Static<typeof ListQuery>;
      return deps.tasks.list({ state: q.state, limit: q.limit ?? 50, cursor: q.cursor });
    },
  );
  app.get(
    '/api/v1/tasks/:id',
    { config: cfg, schema: { summary: 'A task with its body, pending job and comments', tags: ['tasks'], params: IdParams, response: { 200: TaskView } } },
    async (req) => deps.tasks.get(id(req)),
  );
  app.patch(
    '/api/v1/tasks/:id',
    { config: cfg, schema: { summary: 'Edit, finish or cancel a task', tags: ['tasks'], params: IdParams, body: PatchBody, response: { 200: TaskView } } },
    async (req) => deps.tasks.update(id(req), req.body as Static<typeof PatchBody>, actorOf(req)),
  );
  app.delete(
    '/api/v1/tasks/:id',
    { config: cfg, schema: { summary: 'Delete a task and its log', tags: ['tasks'], params: IdParams, response: { 200: Deleted } } },
    async (req) => {
      deps.tasks.delete(id(req));
      return { deleted: true };
    },
  );
  app.post(
    '/api/v1/tasks/:id/comments',
    { config: cfg, schema: { summary: 'Comment on a task', tags: ['tasks'], params: IdParams, body: CommentBody, response: { 201: TaskComment } } },
    async (req, reply) => reply.code(201).send(deps.tasks.comment(id(req), (req.body as Static<typeof CommentBody>).text, actorOf(req))),
  );
  app.get(
    '/api/v1/tasks/:id/events',
    { config: cfg, schema: { summary: "The task's event log", tags: ['tasks'], params: IdParams, response: { 200: TaskEvents } } },
    async (req) => ({
      events: deps.tasks.events(id(req)),
    }),
  );
  app.post(
    '/api/v1/tasks/:id/review',
    {
      config: cfg,
      schema: { summary: 'Approve or reject a pending_approval task', tags: ['tasks'], params: IdParams, body: ReviewBody, response: { 200: TaskView } },
    },
    async (req) => {
      const body = req.body as Static<typeof ReviewBody>;
      return deps.tasks.review(id(req), body.decision, reviewerOf(req), {
        comment: body.comment,
        version: body.version,
        client: req.moat.client,
        requestId: req.id,
      });
    },
  );
  app.post(
    '/api/v1/tasks/:id/links',
    {
      config: cfg,
      schema: {
        summary: 'Signed approve/reject links for a notification (single use, bound to the task as it is now)',
        tags: ['tasks'],
        params: IdParams,
        body: Type.Optional(LinksBody),
        response: { 201: TaskLinks },
      },
    },
    async (req, reply) =>
      reply.code(201).send(
        deps.links.mint(id(req), (req.body as Static<typeof LinksBody> | undefined)?.ttlSeconds, reviewerOf(req), {
          client: req.moat.client,
          requestId: req.id,
        }),
      ),
  );
}
