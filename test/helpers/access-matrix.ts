/**
 * The scope-and-ownership matrix (HABITS 24), as data: for every route of the gateway, which
 * scopes it admits and what an admitted token gets on a resource of its own and on someone else's.
 * test/integration/scopes.matrix.test.ts runs every row with a token of every scope, as owner and
 * not, against a real gateway, and fails when a route has no row (or a row no route).
 *
 * To change a rule: edit the row. To add a route: add a row (the test lists the missing ones).
 * `admin` is admitted everywhere; its outcomes are those of `ok` unless `by.admin` says otherwise.
 * Outcomes: `ok` (2xx), `full` / `summary` (2xx, the job view's `access`), `hidden` (2xx, but the
 * resource is not in the list), or the error `code` of the refusal.
 */

/** One token per scope; `svc:echo` opens the proxy to the test's service `echo`. */
export const MATRIX_SCOPES = ['admin', 'read', 'services', 'jobs', 'jobs:all', 'hooks', 'tasks', 'tools', 'metrics', 'svc:echo'] as const;
export type MatrixScope = (typeof MATRIX_SCOPES)[number];

export type Outcome = 'ok' | 'full' | 'summary' | 'hidden' | 'scope_required' | 'not_owner' | 'self_review' | 'run_not_found' | 'conflict';

/**
 * Resources a route acts on, made fresh by the test: a finished job, a job still queued, a
 * schedule, a run, a task holding a job, a service registered through the API, a token, a hook,
 * a console session.
 */
export type Kind = 'job' | 'queued-job' | 'schedule' | 'run' | 'task' | 'service' | 'token' | 'hook' | 'session';

/** Scopes (besides admin) that can create a resource of each kind, so own a resource of it. */
export const CREATORS: Readonly<Record<Kind, readonly MatrixScope[]>> = {
  job: ['jobs', 'jobs:all'],
  'queued-job': ['jobs', 'jobs:all'],
  schedule: ['jobs', 'jobs:all'],
  run: ['tools'],
  task: ['tasks'],
  service: ['services'],
  // Tokens and hooks are the operator's: admin makes them, nobody else owns one.
  token: [],
  hook: [],
  // Console sessions are made from codes the operator mints.
  session: [],
};

export interface Cell {
  /** The resource was made by the token asking. */
  own?: Outcome;
  /** The resource was made by another principal. */
  other?: Outcome;
}

export interface BearerRow {
  /** `METHOD /pattern`, as the app registers it. */
  route: string;
  /** Scopes admitted besides admin. */
  admits: readonly MatrixScope[];
  /** The resource in the path (or the body), made for the request. */
  resource?: Kind;
  /** The request changes or deletes the resource: one is made per request. */
  fresh?: boolean;
  /** What an admitted token gets (default `ok` both ways). */
  ok?: Cell;
  /** Per-scope exceptions to `ok`. */
  by?: Partial<Record<MatrixScope, Cell>>;
  /** The concrete path for resource id `id` (default: `:id`/`:name` become `id`, `*` becomes `x`). */
  path?: (id: string) => string;
  /** The JSON body (none when absent); `n` is unique per request. */
  body?: (id: string, n: number) => unknown;
  /** Where in the answer the resource is (lists): undefined there means `hidden`. */
  pick?: (json: any, id: string) => unknown;
  /** A stream that never ends on its own: the status is read, then the request is dropped. */
  stream?: true;
  /** Run after every other row (rotating the admin token). */
  last?: true;
}

/** A route that authenticates its own way; its attacks are tested in the file named. */
export interface OwnAuthRow {
  route: string;
  auth: 'none' | 'pairing' | 'job' | 'signature' | 'link';
  testedIn: string;
}

const READ_JOBS = ['read', 'jobs', 'jobs:all'] as const;
const JOBS = ['jobs', 'jobs:all'] as const;
const READ_SERVICES = ['read', 'services'] as const;
const READ_TASKS = ['read', 'tasks'] as const;
const READ_TOOLS = ['read', 'tools'] as const;
/** A job of someone else's is a summary; its owner, admin and jobs:all see it in full. */
const JOB_VIEW = { ok: { own: 'full', other: 'summary' }, by: { admin: { own: 'full', other: 'full' }, 'jobs:all': { own: 'full', other: 'full' } } } as const;
/** Acting on someone else's job or schedule needs jobs:all (or admin). */
const OWNER_ONLY = { ok: { own: 'ok', other: 'not_owner' }, by: { admin: { own: 'ok', other: 'ok' }, 'jobs:all': { own: 'ok', other: 'ok' } } } as const;
/** The same, answering with the job's full view. */
const OWNER_ONLY_VIEW = {
  ok: { own: 'full', other: 'not_owner' },
  by: { admin: { own: 'full', other: 'full' }, 'jobs:all': { own: 'full', other: 'full' } },
} as const;
/** Runs are per token: another's is not found; admin sees all. */
const RUN_OWNER = { ok: { own: 'ok', other: 'run_not_found' }, by: { admin: { own: 'ok', other: 'ok' } } } as const;
/** Approving a task's job takes jobs and a second principal (tasks alone: scope_required). */
const APPROVAL = { ok: { own: 'scope_required', other: 'scope_required' }, by: { admin: { own: 'self_review', other: 'ok' } } } as const;

const inList =
  (key: string, field = 'id') =>
  (json: any, id: string) =>
    (json?.[key] as Array<Record<string, unknown>> | undefined)?.find((x) => x[field] === id);

export const BEARER_ROWS: readonly BearerRow[] = [
  // Status and identity
  { route: 'GET /api/v1/status', admits: ['read'] },
  { route: 'GET /api/v1/openapi.json', admits: ['read'] },
  { route: 'POST /api/v1/tokens', admits: [], body: (_id, n) => ({ name: `matrix-${n}`, scopes: ['read'] }) },
  { route: 'GET /api/v1/tokens', admits: [] },
  { route: 'DELETE /api/v1/tokens/:id', admits: [], resource: 'token', fresh: true },
  { route: 'POST /api/v1/tokens/rotate-admin', admits: [], last: true },
  { route: 'POST /api/v1/pairing-codes', admits: [], body: () => ({ scopes: ['read'] }) },
  // Console sessions (test/integration/console.*.test.ts): who am I is every principal's; a token
  // has no session to sign out (conflict); listing and ending sessions is the operator's.
  { route: 'GET /api/v1/me', admits: ['read', 'services', 'jobs', 'jobs:all', 'hooks', 'tasks', 'tools', 'metrics', 'svc:echo'] },
  {
    route: 'DELETE /api/v1/console/session',
    admits: ['read', 'services', 'jobs', 'jobs:all', 'hooks', 'tasks', 'tools', 'metrics', 'svc:echo'],
    ok: { other: 'conflict' },
    by: { admin: { other: 'conflict' } },
  },
  { route: 'GET /api/v1/sessions', admits: [] },
  { route: 'DELETE /api/v1/sessions/:id', admits: [], resource: 'session', fresh: true },
  // The record
  { route: 'GET /api/v1/audit', admits: [] },
  { route: 'GET /api/v1/audit/head', admits: [] },
  { route: 'GET /api/v1/audit/verify', admits: [] },
  // Jobs: owned by their submitter
  { route: 'POST /api/v1/jobs', admits: JOBS, body: () => ({ service: 'echo', payload: { from: 'matrix' } }), ok: { other: 'full' } },
  { route: 'GET /api/v1/jobs', admits: READ_JOBS, resource: 'job', path: () => '/api/v1/jobs?limit=500', pick: inList('jobs'), ...JOB_VIEW },
  { route: 'GET /api/v1/jobs/:id', admits: READ_JOBS, resource: 'job', ...JOB_VIEW },
  { route: 'POST /api/v1/jobs/:id/cancel', admits: JOBS, resource: 'queued-job', fresh: true, ...OWNER_ONLY_VIEW },
  { route: 'DELETE /api/v1/jobs/:id', admits: JOBS, resource: 'job', fresh: true, ...OWNER_ONLY },
  // Schedules: read by every jobs reader, changed by whoever added them
  { route: 'POST /api/v1/schedules', admits: JOBS, body: (_id, n) => ({ name: `matrix-${n}`, cron: '0 3 * * *', service: 'echo' }) },
  { route: 'GET /api/v1/schedules', admits: READ_JOBS, resource: 'schedule', pick: inList('schedules', 'name') },
  { route: 'GET /api/v1/schedules/:name', admits: READ_JOBS, resource: 'schedule' },
  { route: 'POST /api/v1/schedules/:name/pause', admits: JOBS, resource: 'schedule', fresh: true, ...OWNER_ONLY },
  { route: 'POST /api/v1/schedules/:name/resume', admits: JOBS, resource: 'schedule', fresh: true, ...OWNER_ONLY },
  { route: 'POST /api/v1/schedules/:name/run', admits: JOBS, resource: 'schedule', fresh: true, ...OWNER_ONLY },
  { route: 'DELETE /api/v1/schedules/:name', admits: JOBS, resource: 'schedule', fresh: true, ...OWNER_ONLY },
  // Live events: no payloads or results in them (jobs.ownership.test.ts), so not filtered by owner
  { route: 'GET /api/v1/events', admits: ['read', 'jobs', 'jobs:all', 'services', 'tasks'], stream: true },
  // The operator's
  { route: 'GET /api/v1/callbacks/secret', admits: [], path: () => `/api/v1/callbacks/secret?for=${encodeURIComponent('https://receiver.example/cb')}` },
  { route: 'GET /api/v1/config', admits: [] },
  { route: 'PATCH /api/v1/config', admits: [], body: () => ({}) },
  { route: 'POST /api/v1/egress/check', admits: [], body: () => ({ url: 'http://127.0.0.1/', purpose: 'fetch' }) },
  { route: 'GET /api/v1/doctor', admits: [] },
  { route: 'POST /api/v1/doctor/fix', admits: [] },
  { route: 'GET /metrics', admits: ['metrics'] },
  // Runs and tools: runs are per token
  { route: 'POST /api/v1/runs', admits: ['tools'], body: () => ({}) },
  {
    route: 'GET /api/v1/runs',
    admits: READ_TOOLS,
    resource: 'run',
    pick: inList('runs'),
    ok: { own: 'ok', other: 'hidden' },
    by: { admin: { own: 'ok', other: 'ok' } },
  },
  { route: 'GET /api/v1/runs/:id', admits: READ_TOOLS, resource: 'run', ...RUN_OWNER },
  { route: 'DELETE /api/v1/runs/:id', admits: ['tools'], resource: 'run', fresh: true, ...RUN_OWNER },
  { route: 'GET /api/v1/tools', admits: READ_TOOLS },
  {
    route: 'POST /api/v1/tools/invoke',
    admits: ['tools'],
    resource: 'run',
    path: () => '/api/v1/tools/invoke',
    body: (id) => ({ run: id, tool: 'fs.list', args: { path: '.' } }),
    ...RUN_OWNER,
  },
  { route: 'GET /api/v1/workspace/policy', admits: READ_TOOLS },
  // Services: shared by every services token; a services token (not admin) registers only the targets
  // of supervisor.apiTargets (the test allows the recorder's); logs need services, not read.
  { route: 'GET /api/v1/services', admits: READ_SERVICES },
  { route: 'GET /api/v1/services/:name', admits: READ_SERVICES, resource: 'service' },
  {
    route: 'POST /api/v1/services',
    admits: ['services'],
    body: (_id, n) => ({ name: `matrix-${n}`, kind: 'url', baseUrl: 'http://127.0.0.1:9', autoStart: false }),
  },
  { route: 'PATCH /api/v1/services/:name', admits: ['services'], resource: 'service', fresh: true, body: () => ({ tags: ['patched'] }) },
  { route: 'DELETE /api/v1/services/:name', admits: ['services'], resource: 'service', fresh: true },
  { route: 'POST /api/v1/services/:name/start', admits: ['services'], resource: 'service', fresh: true },
  { route: 'POST /api/v1/services/:name/stop', admits: ['services'], resource: 'service', fresh: true },
  { route: 'POST /api/v1/services/:name/restart', admits: ['services'], resource: 'service', fresh: true },
  { route: 'GET /api/v1/services/:name/logs', admits: ['services'], resource: 'service' },
  // Hooks: the operator's; triggers: hooks tokens
  {
    route: 'POST /api/v1/hooks',
    admits: [],
    body: (_id, n) => ({ name: `matrix-${n}`, verify: 'github', secret: 'matrix-hook-secret-0123456789', action: { type: 'task', title: 't' } }),
  },
  { route: 'GET /api/v1/hooks', admits: [] },
  { route: 'GET /api/v1/hooks/:name', admits: [], resource: 'hook' },
  { route: 'DELETE /api/v1/hooks/:name', admits: [], resource: 'hook', fresh: true },
  { route: 'POST /api/v1/triggers/*', admits: ['hooks'], path: () => '/api/v1/triggers/matrix', body: () => ({}) },
  // Tasks: a shared review board; approving a task's job takes jobs and a second principal
  { route: 'POST /api/v1/tasks', admits: ['tasks'], body: () => ({ title: 'matrix', job: { service: 'echo', payload: {} } }) },
  { route: 'GET /api/v1/tasks', admits: READ_TASKS, resource: 'task', pick: inList('tasks') },
  { route: 'GET /api/v1/tasks/:id', admits: READ_TASKS, resource: 'task' },
  { route: 'PATCH /api/v1/tasks/:id', admits: ['tasks'], resource: 'task', fresh: true, body: () => ({ title: 'edited' }) },
  { route: 'DELETE /api/v1/tasks/:id', admits: ['tasks'], resource: 'task', fresh: true },
  { route: 'POST /api/v1/tasks/:id/comments', admits: ['tasks'], resource: 'task', body: () => ({ text: 'seen' }) },
  { route: 'GET /api/v1/tasks/:id/events', admits: READ_TASKS, resource: 'task' },
  { route: 'POST /api/v1/tasks/:id/review', admits: ['tasks'], resource: 'task', fresh: true, body: () => ({ decision: 'approve' }), ...APPROVAL },
  { route: 'POST /api/v1/tasks/:id/links', admits: ['tasks'], resource: 'task', fresh: true, body: () => ({}), ...APPROVAL },
  // The proxy: svc:<name> (read never opens it)
  ...(['GET', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).flatMap((m): BearerRow[] => [
    { route: `${m} /svc/:name`, admits: ['svc:echo'], path: () => '/svc/echo' },
    { route: `${m} /svc/:name/*`, admits: ['svc:echo'], path: () => '/svc/echo/x' },
  ]),
];

export const OWN_AUTH_ROWS: readonly OwnAuthRow[] = [
  { route: 'GET /api/v1/health', auth: 'none', testedIn: 'test/integration/auth.test.ts' },
  { route: 'POST /api/v1/pair', auth: 'pairing', testedIn: 'test/integration/pairing.test.ts' },
  { route: 'POST /api/v1/console/session', auth: 'pairing', testedIn: 'test/integration/console.session.test.ts' },
  { route: 'GET /', auth: 'none', testedIn: 'test/integration/console.static.test.ts' },
  { route: 'GET /console', auth: 'none', testedIn: 'test/integration/console.static.test.ts' },
  { route: 'GET /console/*', auth: 'none', testedIn: 'test/integration/console.static.test.ts' },
  { route: 'GET /favicon.ico', auth: 'none', testedIn: 'test/integration/console.static.test.ts' },
  { route: 'POST /api/v1/jobs/:id/progress', auth: 'job', testedIn: 'test/integration/jobs.progress.test.ts' },
  { route: 'GET /hooks/:name', auth: 'signature', testedIn: 'test/integration/hooks.schemes.test.ts' },
  { route: 'POST /hooks/:name', auth: 'signature', testedIn: 'test/integration/hooks.schemes.test.ts' },
  { route: 'GET /actions/:token', auth: 'link', testedIn: 'test/integration/tasks.links.test.ts' },
  { route: 'POST /actions/:token', auth: 'link', testedIn: 'test/integration/tasks.links.test.ts' },
];

/** What `scope` should get from `row`, on its own resource or another's. */
export function expected(row: BearerRow, scope: MatrixScope, own: boolean): Outcome {
  if (scope !== 'admin' && !row.admits.includes(scope)) return 'scope_required';
  const cell = row.by?.[scope] ?? row.ok ?? {};
  return (own ? cell.own : cell.other) ?? 'ok';
}

/** Whether `scope` can own a resource of the row's kind (so the "own" case exists). */
export function canOwn(row: BearerRow, scope: MatrixScope): boolean {
  if (!row.resource) return false;
  return scope === 'admin' ? CREATORS[row.resource].length > 0 : CREATORS[row.resource].includes(scope);
}
