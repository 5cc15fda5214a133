/**
 * The scope-and-ownership matrix from outside (HABITS 24): every route of a real gateway, with a
 * token of every scope, on a resource of the token's own and on another principal's, must answer
 * what test/helpers/access-matrix.ts says, with a valid request (so "admitted" means it worked, not
 * that a 400 came back instead of a 403). A route without a row, or a row without a route, fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  BEARER_ROWS,
  MATRIX_SCOPES,
  OWN_AUTH_ROWS,
  canOwn,
  expected,
  type BearerRow,
  type Kind,
  type MatrixScope,
  type Outcome,
} from '../helpers/access-matrix.js';
import { agentFor, startGateway, type TestGateway, type TestResponse } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { waitFor } from '../helpers/services.js';

let up: Recorder;
let g: TestGateway;
const tokens = new Map<MatrixScope, string>();
/** Another principal, which makes the resources that are not the asking token's. */
let other: string;
let n = 0;

beforeAll(async () => {
  up = await startRecorder();
  const downPort = await freePort();
  g = await startGateway({
    rateLimit: { enabled: false },
    // The targets a services token (not admin) may register (supervisor.apiTargets: none by default).
    supervisor: { apiTargets: [new URL(up.url).host, '127.0.0.1:9'] },
    jobs: { startTimeoutSeconds: 3600, retryBaseMs: 60_000 },
    services: [
      { name: 'echo', kind: 'url', baseUrl: `${up.url}/base`, health: { path: '/health', intervalMs: 50 } },
      { name: 'down', kind: 'url', baseUrl: `http://127.0.0.1:${downPort}`, health: { path: '/health', intervalMs: 60_000 } },
    ],
    triggers: [{ path: 'matrix', action: { type: 'task', title: 'from a trigger' } }],
  });
  for (const scope of MATRIX_SCOPES) {
    if (scope === 'admin') continue;
    tokens.set(scope, await mint(`m-${scope.replace(':', '-')}`, [scope]));
  }
  other = await mint('m-other', ['jobs', 'tools', 'tasks', 'services']);
  await waitFor(() => g.gw.parts.supervisor.state('echo') === 'healthy', 'echo healthy');
});

afterAll(async () => {
  await g?.stop();
  await up?.close();
});

async function mint(name: string, scopes: string[]): Promise<string> {
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes } });
  if (res.status !== 201) throw new Error(`token ${name}: ${res.status} ${res.text}`);
  return res.json.token as string;
}

/** The admin token in force (rotate-admin changes it). */
const tokenOf = (scope: MatrixScope) => (scope === 'admin' ? g.gw.token : (tokens.get(scope) as string));

async function ok(res: TestResponse, what: string): Promise<any> {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.json;
}

/** Makes a resource of `kind` as the holder of `token`; returns its id (or name). */
async function make(kind: Kind, token: string): Promise<string> {
  const k = ++n;
  const as = (path: string, body: unknown) => g.fetch(path, { method: 'POST', auth: token, body });
  switch (kind) {
    case 'job': {
      const { id } = await ok(await as('/api/v1/jobs', { service: 'echo', payload: { secret: `p-${k}` } }), 'job');
      await waitFor(async () => (await g.fetch(`/api/v1/jobs/${id}`)).json.state === 'succeeded', `job ${id} succeeded`);
      return id;
    }
    case 'queued-job':
      return (await ok(await as('/api/v1/jobs', { service: 'down', payload: {}, maxAttempts: 100 }), 'queued job')).id;
    case 'schedule':
      return (await ok(await as('/api/v1/schedules', { name: `s-${k}`, cron: '0 3 * * *', service: 'echo' }), 'schedule')).name;
    case 'run':
      return (await ok(await as('/api/v1/runs', {}), 'run')).id;
    case 'task':
      return (await ok(await as('/api/v1/tasks', { title: `t-${k}`, job: { service: 'echo', payload: {} } }), 'task')).id;
    case 'service':
      return (await ok(await as('/api/v1/services', { name: `svc-${k}`, kind: 'url', baseUrl: up.url, autoStart: false }), 'service')).name;
    case 'token':
      return (await ok(await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `tok-${k}`, scopes: ['read'] } }), 'token')).id;
    case 'session': {
      const code = await ok(await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'], console: true } }), 'console code');
      return (await ok(await g.fetch('/api/v1/console/session', { method: 'POST', auth: false, body: { code: code.code } }), 'session')).id;
    }
    case 'hook':
      return (
        await ok(
          await g.fetch('/api/v1/hooks', {
            method: 'POST',
            body: { name: `hook-${k}`, verify: 'github', secret: 'matrix-hook-secret-0123456789', action: { type: 'task', title: 't' } },
          }),
          'hook',
        )
      ).name;
  }
}

/** Resources that are only read are made once per owner. */
const made = new Map<string, Promise<string>>();
function resource(row: BearerRow, owner: string): Promise<string> {
  const kind = row.resource as Kind;
  if (row.fresh) return make(kind, owner);
  const key = `${kind}:${owner}`;
  if (!made.has(key)) made.set(key, make(kind, owner));
  return made.get(key) as Promise<string>;
}

const concrete = (url: string, id: string) => url.replace(/:[A-Za-z]+/g, id).replace(/\*$/, 'x');

/** What the gateway answered, as an outcome of the table. */
async function observe(row: BearerRow, scope: MatrixScope, own: boolean): Promise<Outcome | string> {
  const [method, url] = row.route.split(' ') as [string, string];
  const id = row.resource ? await resource(row, own ? tokenOf(scope) : other) : 'x';
  const path = row.path ? row.path(id) : concrete(url, id);
  const auth = tokenOf(scope);
  if (row.stream) {
    const ac = new AbortController();
    const dispatcher = agentFor(g.gw);
    try {
      const res = await request(`${g.url}${path}`, { method: 'GET', headers: { authorization: `Bearer ${auth}` }, signal: ac.signal, dispatcher });
      const status = res.statusCode;
      const text = status === 200 ? '' : await res.body.text();
      ac.abort();
      await res.body.dump().catch(() => undefined);
      return status === 200 ? 'ok' : (JSON.parse(text) as { code: string }).code;
    } finally {
      await dispatcher.close().catch(() => undefined);
    }
  }
  const body = row.body?.(id, ++n);
  const res = await g.fetch(path, { method, auth, ...(body === undefined ? {} : { body }) });
  if (res.status >= 300) return (res.json?.code as string | undefined) ?? `status ${res.status}`;
  const seen = row.pick ? row.pick(res.json, id) : res.json;
  if (row.pick && seen === undefined) return 'hidden';
  const access = (seen as { access?: string } | undefined)?.access;
  if (access === 'summary') {
    for (const hidden of ['payload', 'result', 'error', 'callback']) if (hidden in (seen as object)) return `summary with ${hidden}`;
  }
  return access === 'full' || access === 'summary' ? access : 'ok';
}

describe('the matrix covers every route', () => {
  it('has a row for every route the app registers, and no row for a route it does not', () => {
    const routes = g.gw.parts.routes;
    const byKey = new Map(routes.map((r) => [`${r.method} ${r.url}`, r]));
    const rows = new Set([...BEARER_ROWS.map((r) => r.route), ...OWN_AUTH_ROWS.map((r) => r.route)]);
    // HEAD is answered like the GET of the same route.
    const missing = routes.filter((r) => !rows.has(`${r.method} ${r.url}`) && !(r.method === 'HEAD' && rows.has(`GET ${r.url}`)));
    expect(
      missing.map((r) => `${r.method} ${r.url}`),
      'routes without a row in test/helpers/access-matrix.ts',
    ).toEqual([]);
    expect(
      [...rows].filter((k) => !byKey.has(k)),
      'rows for routes that do not exist',
    ).toEqual([]);
  });

  it('lists each route that authenticates its own way with that way', () => {
    const byKey = new Map(g.gw.parts.routes.map((r) => [`${r.method} ${r.url}`, r]));
    for (const row of OWN_AUTH_ROWS) expect(byKey.get(row.route)?.auth, row.route).toBe(row.auth);
    for (const row of BEARER_ROWS) expect(byKey.get(row.route)?.auth, row.route).toBe('bearer');
  });
});

describe('every route x every scope x owner or not', () => {
  it('answers exactly what the matrix says', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    const rows = [...BEARER_ROWS.filter((r) => !r.last), ...BEARER_ROWS.filter((r) => r.last)];
    const check = async (row: BearerRow, scope: MatrixScope, own: boolean) => {
      const want = expected(row, scope, own);
      const got = await observe(row, scope, own);
      checked++;
      if (got !== want)
        mismatches.push(
          `${row.route} as ${scope} on ${row.resource ? (own ? 'its own' : "another's") : '-'} ${row.resource ?? ''}: expected ${want}, got ${got}`,
        );
    };
    for (const row of rows) {
      const cases = (scope: MatrixScope) => (row.resource ? [false, true] : [false]).filter((own) => !own || canOwn(row, scope));
      // The scopes of a row side by side; admin after them: a row that rotates the admin token
      // must not pull it from under the others.
      await Promise.all(MATRIX_SCOPES.filter((s) => s !== 'admin').flatMap((scope) => cases(scope).map((own) => check(row, scope, own))));
      for (const own of cases('admin')) await check(row, 'admin', own);
    }
    mismatches.sort();
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(BEARER_ROWS.length * MATRIX_SCOPES.length);
    // Several hundred requests one after another: 7 s alone, several times that on a loaded machine.
  }, 180_000);
});
