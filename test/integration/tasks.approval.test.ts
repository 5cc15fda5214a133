/**
 * Approving a task that holds a job is submitting that job, from outside: a `tasks` token can ask
 * for work on any service but neither approve it nor mint the links that would; nobody approves
 * their own task (admin included) unless tasks.allowSelfReview; a reviewer who may submit jobs
 * approves, and the job is then the reviewer's. Refusals queue nothing and are audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, jobIds, waitForJob } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';
import { tokenWith } from '../helpers/tools.js';

let g: TestGateway;
/** Asks for work: scope tasks only. */
let agent: string;
/** Asks for work and may submit jobs itself. */
let agentWithJobs: string;
/** A second principal that may submit jobs. */
let reviewer: string;

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({ rateLimit: { enabled: false }, services: [spec(worker)] });
  agent = await tokenWith(g, 'agent', ['tasks']);
  agentWithJobs = await tokenWith(g, 'agent-jobs', ['tasks', 'jobs']);
  reviewer = await tokenWith(g, 'reviewer', ['tasks', 'jobs']);
});
afterAll(() => g?.stop());

async function pending(by: string, payload: Record<string, unknown> = { steps: 1, stepMs: 1 }): Promise<string> {
  const res = await g.fetch('/api/v1/tasks', { method: 'POST', auth: by, body: { title: 'run it', job: { service: 'worker', payload } } });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

const review = (id: string, auth: string | undefined, decision = 'approve') =>
  g.fetch(`/api/v1/tasks/${id}/review`, { method: 'POST', ...(auth ? { auth } : {}), body: { decision } });
const mint = (id: string, auth: string | undefined) => g.fetch(`/api/v1/tasks/${id}/links`, { method: 'POST', ...(auth ? { auth } : {}), body: {} });

describe('a tasks token cannot run jobs through a task', () => {
  it('refuses its own approval with 403 scope_required (scope jobs): nothing is queued, the task stays pending', async () => {
    const before = await jobIds(g);
    const id = await pending(agent);
    const res = await review(id, agent);
    expect([res.status, res.json.code, res.json.scope]).toEqual([403, 'scope_required', 'jobs']);
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json.state).toBe('pending_approval');
    expect(await jobIds(g)).toEqual(before);
    const denial = (await audited(g, 'authz.denied')).find((e) => e.requestId === res.headers['x-request-id']);
    expect(denial).toMatchObject({ code: 'scope_required', actor: { name: 'agent' } });
  });

  it("refuses a tasks token's approval of someone else's task too", async () => {
    const id = await pending(agentWithJobs);
    expect((await review(id, agent)).json.code).toBe('scope_required');
  });

  it("refuses to mint action links for it (the link would approve with the minter's authority)", async () => {
    const id = await pending(agent);
    const res = await mint(id, agent);
    expect([res.status, res.json.code]).toEqual([403, 'scope_required']);
    expect(res.json.approve).toBeUndefined();
  });

  it('still lets it reject (that queues nothing)', async () => {
    const id = await pending(agent);
    expect((await review(id, agent, 'reject')).json.state).toBe('rejected');
  });
});

describe('nobody approves their own task', () => {
  it.each([
    ['a token with tasks and jobs', () => agentWithJobs],
    ['the admin token', () => g.token],
  ])('refuses %s with 403 self_review, for a review and for links (audited)', async (_label, who) => {
    const before = await jobIds(g);
    const id = await pending(who());
    const res = await review(id, who());
    expect([res.status, res.json.code]).toEqual([403, 'self_review']);
    expect((await mint(id, who())).json.code).toBe('self_review');
    expect(await jobIds(g)).toEqual(before);
    expect((await audited(g, 'authz.denied')).some((e) => e.requestId === res.headers['x-request-id'] && e.code === 'self_review')).toBe(true);
  });

  it("lets a second principal with jobs approve; the job is the reviewer's", async () => {
    const id = await pending(agentWithJobs, { steps: 1, stepMs: 1, note: 'for review' });
    const res = await review(id, reviewer);
    expect(res.json).toMatchObject({ state: 'approved', reviewedBy: { name: 'reviewer' } });
    const jobId = res.json.job.id as string;
    await waitForJob(g, jobId);
    expect((await g.fetch(`/api/v1/jobs/${jobId}`, { auth: reviewer })).json).toMatchObject({ access: 'full', payload: { note: 'for review' } });
    expect((await g.fetch(`/api/v1/jobs/${jobId}`, { auth: agentWithJobs })).json).toMatchObject({ access: 'summary' });
  });

  it('lets a second principal mint the links; approving through one makes a job only admin and jobs:all see in full', async () => {
    const id = await pending(agent);
    const links = await mint(id, reviewer);
    expect(links.status).toBe(201);
    const acted = await g.fetch(new URL(links.json.approve).pathname, { method: 'POST', auth: false });
    expect(acted.json).toMatchObject({ action: 'approve', task: { state: 'approved' } });
    const jobId = acted.json.task.job as string;
    await waitForJob(g, jobId);
    expect((await g.fetch(`/api/v1/jobs/${jobId}`, { auth: reviewer })).json.access).toBe('summary');
    expect((await g.fetch(`/api/v1/jobs/${jobId}`)).json.access).toBe('full');
  });
});

describe('tasks.allowSelfReview', () => {
  it('lets the creator approve its own task when the operator allows it (still only with jobs)', async () => {
    const worker = await workerService('worker', { health: { intervalMs: 100 } });
    const h = await startGateway({ rateLimit: { enabled: false }, services: [spec(worker)], tasks: { allowSelfReview: true } });
    try {
      const both = await tokenWith(h, 'both', ['tasks', 'jobs']);
      const only = await tokenWith(h, 'only', ['tasks']);
      const create = async (auth: string) =>
        (await h.fetch('/api/v1/tasks', { method: 'POST', auth, body: { title: 't', job: { service: 'worker', payload: {} } } })).json.id as string;
      const mine = await create(both);
      expect((await h.fetch(`/api/v1/tasks/${mine}/review`, { method: 'POST', auth: both, body: { decision: 'approve' } })).json.state).toBe('approved');
      const theirs = await create(only);
      expect((await h.fetch(`/api/v1/tasks/${theirs}/review`, { method: 'POST', auth: only, body: { decision: 'approve' } })).json.code).toBe('scope_required');
    } finally {
      await h.stop();
    }
  });
});

describe('a review bound to the version the reviewer read (the console sends it)', () => {
  it('refuses an approval of a task changed since it was read with 409 conflict, queues nothing, and takes the current version', async () => {
    const id = await pending(agentWithJobs, { steps: 1, stepMs: 1, note: 'read me' });
    const read = (await g.fetch(`/api/v1/tasks/${id}`, { auth: reviewer })).json;
    // The task is edited after the reviewer read it (a changed title, a comment): what they saw is stale.
    expect((await g.fetch(`/api/v1/tasks/${id}`, { method: 'PATCH', auth: agentWithJobs, body: { title: 'run something else' } })).status).toBe(200);
    const stale = await g.fetch(`/api/v1/tasks/${id}/review`, { method: 'POST', auth: reviewer, body: { decision: 'approve', version: read.version } });
    expect([stale.status, stale.json.code]).toEqual([409, 'conflict']);
    const now = (await g.fetch(`/api/v1/tasks/${id}`, { auth: reviewer })).json;
    expect(stale.json.version).toBe(now.version);
    expect(now).toMatchObject({ state: 'pending_approval', job: { id: null } });
    const fresh = await g.fetch(`/api/v1/tasks/${id}/review`, {
      method: 'POST',
      auth: reviewer,
      body: { decision: 'approve', version: now.version, comment: 'read it again' },
    });
    expect(fresh.json).toMatchObject({ state: 'approved' });
  });
});
