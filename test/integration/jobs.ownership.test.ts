/**
 * A job belongs to the principal that submitted it, from outside: two `jobs` tokens, a `read`
 * token, a `jobs:all` operator and admin against real jobs on the example worker. Another token's
 * job is a summary (never payload, result or error text) in reads and lists, and cannot be canceled
 * or deleted; schedules and their jobs follow whoever added them; a hook's jobs are nobody's; the
 * live stream never carries what the summary hides. (Every route, scope and owner at once:
 * scopes.matrix.test.ts.)
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audited, deliver, githubHeaders } from '../helpers/hooks.js';
import { startJobsGateway, tokenWith, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

const SECRET = 'ownership-hook-secret-0123456789';
const MARK = 'PAYLOAD-MARK-4f2a';
let g: JobsGateway;
let alice: string;
let bob: string;
let reader: string;
let ops: string;

beforeAll(async () => {
  g = await startJobsGateway({
    rateLimit: { enabled: false },
    hooks: [{ name: 'gh', verify: 'github', secret: SECRET, action: { type: 'job', service: 'worker', payload: { steps: 0, from: '{body.ref}' } } }],
  });
  alice = await tokenWith(g, ['jobs'], 'alice');
  bob = await tokenWith(g, ['jobs'], 'bob');
  reader = await tokenWith(g, ['read'], 'reader');
  ops = await tokenWith(g, ['jobs:all'], 'ops');
});
afterAll(() => g?.stop());

const as = (token: string, path: string, method = 'GET', body?: unknown) => g.fetch(path, { method, auth: token, ...(body === undefined ? {} : { body }) });
const HIDDEN = ['payload', 'result', 'error', 'callback', 'notify', 'run'];

/** A finished job of alice's (succeeded, or failed with the worker's error text). */
async function aliceJob(fail = false): Promise<string> {
  const { id } = await g.submit({ service: 'worker', payload: { steps: 0, secret: MARK, ...(fail ? { fail: true } : {}) }, maxAttempts: 1 }, { auth: alice });
  await g.until(id);
  return id as string;
}

describe("reading another token's job", () => {
  it('shows the owner, admin and jobs:all the payload and result', async () => {
    const id = await aliceJob();
    for (const token of [alice, ops, g.token]) {
      const job = (await as(token, `/api/v1/jobs/${id}`)).json;
      expect(job).toMatchObject({ access: 'full', state: 'succeeded', payload: { secret: MARK }, result: { echo: { secret: MARK } } });
    }
  });

  it.each([
    ['another jobs token', () => bob],
    ['a read token', () => reader],
  ])('shows %s only the summary: state, service, timings, progress', async (_label, who) => {
    for (const id of [await aliceJob(), await aliceJob(true)]) {
      const res = await as(who(), `/api/v1/jobs/${id}`);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ id, access: 'summary', service: 'worker', createdBy: { name: 'alice' } });
      expect(['succeeded', 'failed']).toContain(res.json.state);
      for (const field of HIDDEN) expect(res.json, field).not.toHaveProperty(field);
      expect(res.text).not.toContain(MARK);
      expect(res.text).not.toContain('failed as asked');
    }
  });

  it("lists every job, another token's as summaries, and only one's own with mine=true", async () => {
    const mine = await aliceJob();
    const { id: theirs } = await g.submit({ service: 'worker', payload: { steps: 0 } }, { auth: bob });
    await g.until(theirs);
    const list = (await as(bob, '/api/v1/jobs?limit=500')).json.jobs as Array<Record<string, unknown>>;
    expect(list.find((j) => j['id'] === mine)).toMatchObject({ access: 'summary' });
    expect(list.find((j) => j['id'] === mine)).not.toHaveProperty('result');
    expect(list.find((j) => j['id'] === theirs)).toMatchObject({ access: 'full', result: { echo: { steps: 0 } } });
    expect(JSON.stringify(list)).not.toContain(MARK);
    const own = (await as(bob, '/api/v1/jobs?mine=true&limit=500')).json.jobs as Array<{ id: string }>;
    expect(own.map((j) => j.id)).toContain(theirs);
    expect(own.map((j) => j.id)).not.toContain(mine);
  });
});

describe("acting on another token's job", () => {
  it('refuses another jobs token a cancel with 403 not_owner (audited), and lets the owner cancel', async () => {
    const { id } = await g.submit({ service: 'worker', payload: { steps: 50, stepMs: 100 } }, { auth: alice });
    const refused = await as(bob, `/api/v1/jobs/${id}/cancel`, 'POST');
    expect([refused.status, refused.json.code, refused.json.scope]).toEqual([403, 'not_owner', 'jobs:all']);
    expect((await as(bob, `/api/v1/jobs/${id}`)).json.state).not.toBe('canceled');
    const denial = (await audited(g, 'authz.denied')).find((e) => e.requestId === refused.headers['x-request-id']);
    expect(denial).toMatchObject({ code: 'not_owner', actor: { name: 'bob' }, route: '/api/v1/jobs/:id/cancel' });
    expect((await as(alice, `/api/v1/jobs/${id}/cancel`, 'POST')).status).toBe(200);
    expect((await g.until(id)).state).toBe('canceled');
  });

  it('lets jobs:all and admin cancel any job', async () => {
    for (const token of [ops, g.token]) {
      const { id } = await g.submit({ service: 'worker', payload: { steps: 50, stepMs: 100 } }, { auth: alice });
      expect((await as(token, `/api/v1/jobs/${id}/cancel`, 'POST')).status).toBe(200);
      expect((await g.until(id)).state).toBe('canceled');
    }
  });

  it('refuses another jobs token a delete with 403 not_owner; the owner and jobs:all delete', async () => {
    const a = await aliceJob();
    const b = await aliceJob();
    expect((await as(bob, `/api/v1/jobs/${a}`, 'DELETE')).json.code).toBe('not_owner');
    expect((await as(reader, `/api/v1/jobs/${a}`, 'DELETE')).json.code).toBe('scope_required');
    expect((await as(alice, `/api/v1/jobs/${a}`, 'DELETE')).json).toEqual({ deleted: true });
    expect((await as(ops, `/api/v1/jobs/${b}`, 'DELETE')).json).toEqual({ deleted: true });
  });
});

describe('jobs no token submitted', () => {
  it("shows a hook's job in full to admin and jobs:all only", async () => {
    const body = JSON.stringify({ ref: MARK });
    const res = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'own-1'));
    expect(res.status).toBe(202);
    const id = res.json.job as string;
    await g.until(id);
    for (const token of [alice, bob, reader]) expect((await as(token, `/api/v1/jobs/${id}`)).json).toMatchObject({ access: 'summary' });
    for (const token of [ops, g.token]) expect((await as(token, `/api/v1/jobs/${id}`)).json).toMatchObject({ access: 'full', payload: { from: MARK } });
    expect((await as(alice, `/api/v1/jobs/${id}`, 'DELETE')).json.code).toBe('not_owner');
  });

  it("gives a schedule's jobs to whoever added it, and lets only it pause, run or delete the schedule", async () => {
    const add = await as(alice, '/api/v1/schedules', 'POST', {
      name: 'alice-nightly',
      cron: '0 3 * * *',
      service: 'worker',
      payload: { steps: 0, secret: MARK },
    });
    expect(add.status).toBe(201);
    for (const [method, path] of [
      ['POST', 'pause'],
      ['POST', 'resume'],
      ['POST', 'run'],
      ['DELETE', ''],
    ] as const) {
      const res = await as(bob, `/api/v1/schedules/alice-nightly${path ? `/${path}` : ''}`, method);
      expect([method, path, res.status, res.json.code]).toEqual([method, path, 403, 'not_owner']);
    }
    expect((await as(bob, '/api/v1/schedules/alice-nightly')).status).toBe(200); // reading is shared (no payload in it)
    const run = await as(alice, '/api/v1/schedules/alice-nightly/run', 'POST');
    expect(run.status).toBe(202);
    await g.until(run.json.job);
    expect((await as(alice, `/api/v1/jobs/${run.json.job}`)).json).toMatchObject({
      access: 'full',
      createdBy: { id: 'schedule:alice-nightly' },
      result: { echo: { secret: MARK } },
    });
    expect((await as(bob, `/api/v1/jobs/${run.json.job}`)).json).toMatchObject({ access: 'summary' });
    expect((await as(ops, '/api/v1/schedules/alice-nightly/pause', 'POST')).status).toBe(200);
    expect((await as(alice, '/api/v1/schedules/alice-nightly', 'DELETE')).json).toEqual({ deleted: true });
  });
});

describe('the live stream', () => {
  it("never carries a job's payload, result or error text to a read token", async () => {
    const ac = new AbortController();
    const res = await request(`${g.url}/api/v1/events`, { headers: { authorization: `Bearer ${reader}` }, signal: ac.signal });
    let text = '';
    const reading = (async () => {
      try {
        for await (const chunk of res.body) text += chunk.toString();
      } catch {
        // aborted
      }
    })();
    await waitFor(() => text.includes(': connected'), 'stream connected');
    const ok = await aliceJob();
    const failed = await aliceJob(true);
    await waitFor(
      () => text.includes(`"id":"${ok}"`) && text.includes(`"id":"${failed}","service":"worker","state":"failed"`),
      'both jobs finished on the stream',
      10_000,
    );
    ac.abort();
    await reading;
    expect(text).not.toContain(MARK);
    expect(text).not.toContain('failed as asked');
  });
});
