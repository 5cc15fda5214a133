/**
 * Attack: deep nesting. About 10,000 levels of arrays or objects (a 20 KB body) parse, then overflow
 * the stack in canonical JSON, sealing and templating: a 500 on jobs, tasks and verified hooks.
 * Every JSON body is refused with 400 json_too_deep before anything walks it (hook deliveries once
 * their signature verified); a document at the limit still goes through. Over HTTP/1.1 and HTTP/2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStillServing, h2Connect, h2Request } from '../helpers/attack.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { githubHeaders } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';
import { createRun } from '../helpers/tools.js';

const SECRET = 'deep-json-hook-secret-0123456789';
let plain: TestGateway;
let tls: TestGateway;

async function boot(values: Record<string, unknown>): Promise<TestGateway> {
  return startGateway({
    logLevel: 'error',
    rateLimit: { enabled: false },
    services: [spec(await workerService('worker'))],
    hooks: [{ name: 'gh', verify: 'github', secret: SECRET, action: { type: 'task', title: 'push', job: { service: 'worker', payload: '{body.a}' } } }],
    triggers: [{ path: 'deep', action: { type: 'job', service: 'worker', payload: { from: '{body.a}' } } }],
    ...values,
  });
}

beforeAll(async () => {
  [plain, tls] = await Promise.all([boot({}), boot({ tls: { enabled: true } })]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), tls?.stop()]);
});

const arrays = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const objects = (depth: number, inner = '1') => `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;

/** Each route that takes JSON, with a body that puts `deep` (JSON text) where the route walks it. */
const ROUTES: Array<[string, string, (deep: string) => string, Record<string, string>?]> = [
  ['POST /api/v1/jobs', '/api/v1/jobs', (d) => `{"service":"worker","payload":${d}}`, { 'idempotency-key': 'deep-1' }],
  ['POST /api/v1/tasks', '/api/v1/tasks', (d) => `{"title":"t","job":{"service":"worker","payload":${d}}}`],
  ['POST /api/v1/triggers/deep', '/api/v1/triggers/deep', (d) => `{"a":${d}}`],
  ['POST /api/v1/tools/invoke', '/api/v1/tools/invoke', (d) => `{"run":"RUN","tool":"fs.list","args":${d}}`],
  ['POST /api/v1/tokens', '/api/v1/tokens', (d) => `{"name":"deep","scopes":${d}}`],
  ['PATCH /api/v1/config', '/api/v1/config', (d) => `{"publicNames":${d}}`],
  ['POST /api/v1/pair (no token)', '/api/v1/pair', (d) => `{"name":${d}}`],
];

describe.each([
  ['HTTP/1.1', () => plain],
  ['HTTP/2', () => tls],
])('10,000 levels of nesting (%s)', (proto, gw) => {
  const send = async (g: TestGateway, method: string, path: string, body: string, headers: Record<string, string>, auth: boolean) => {
    const h = { 'content-type': 'application/json', ...headers };
    if (proto === 'HTTP/1.1') return g.fetch(path, { method, raw: body, headers: h, auth: auth ? undefined : false });
    const { session } = await h2Connect(g);
    try {
      return await h2Request(session, { ':method': method, ':path': path, ...h, ...(auth ? { authorization: `Bearer ${g.token}` } : {}) }, body);
    } finally {
      session.close();
    }
  };

  for (const [name, path, wrap, headers] of ROUTES) {
    for (const [shape, deep] of [
      ['arrays', arrays(10_000)],
      ['objects', objects(10_000)],
    ] as const) {
      it(`refuses ${shape} on ${name} with 400 json_too_deep`, async () => {
        const g = gw();
        const run = path === '/api/v1/tools/invoke' ? await createRun(g) : '';
        const body = wrap(deep).replace('RUN', run);
        const [method] = name.split(' ') as [string];
        const res = await send(g, method, path, body, headers ?? {}, !name.includes('no token'));
        expect(res.status).toBe(400);
        expect(res.json).toMatchObject({ code: 'json_too_deep', status: 400 });
        expect(res.text).not.toMatch(/stack|RangeError|at \w+ \(/);
      });
    }
  }

  it('refuses a deep body on a verified hook delivery with 400 json_too_deep (after the signature verified)', async () => {
    const g = gw();
    const body = `{"a":${objects(10_000)}}`;
    const res = await send(g, 'POST', '/hooks/gh', body, githubHeaders(SECRET, body), false);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'json_too_deep' });
    // A forged one is still refused for its signature, never for its shape.
    const forged = await send(g, 'POST', '/hooks/gh', body, githubHeaders('not-the-secret-0123456789', body), false);
    expect(forged.status).toBe(401);
  });

  it('takes a document at the limit, and does not count brackets inside strings', async () => {
    const g = gw();
    const atLimit = await send(g, 'POST', '/api/v1/jobs', `{"service":"worker","payload":${arrays(62)}}`, {}, true);
    expect(atLimit.status).toBe(202);
    const strings = await send(
      g,
      'POST',
      '/api/v1/jobs',
      `{"service":"worker","payload":${JSON.stringify({ text: '['.repeat(5000) + '{"\\"'.repeat(100) })}}`,
      {},
      true,
    );
    expect(strings.status).toBe(202);
    const over = await send(g, 'POST', '/api/v1/jobs', `{"service":"worker","payload":${arrays(64)}}`, {}, true);
    expect(over.json?.code).toBe('json_too_deep');
  });

  it('keeps serving afterwards', async () => {
    await expectStillServing(gw());
  });
});
