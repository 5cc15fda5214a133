/**
 * /api/v1/tasks from outside: create, list, read, edit, comment, event log, delete; reviews; a
 * pending job that runs on the example worker only once approved (and never when rejected); task
 * events on the live stream; text sealed at rest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, jobIds, waitForJob } from '../helpers/hooks.js';
import { spec, waitFor, workerService } from '../helpers/services.js';
import { tokenWith } from '../helpers/tools.js';

let g: TestGateway;
/** A reviewer: may approve a task's job (it could submit one itself). */
let tasksToken: string;
/** An agent asking for work: scope tasks only, so it creates tasks and never approves their jobs. */
let agentToken: string;

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({ rateLimit: { enabled: false }, services: [spec(worker)] });
  tasksToken = await tokenWith(g, 'reviewer', ['tasks', 'jobs']);
  agentToken = await tokenWith(g, 'agent', ['tasks']);
});
afterAll(() => g?.stop());

const create = (body: Record<string, unknown>, auth: string | undefined = tasksToken) =>
  g.fetch('/api/v1/tasks', { method: 'POST', body, ...(auth ? { auth } : {}) });

describe('tasks', () => {
  it('creates an open task, lists it without its body, reads it with its body', async () => {
    const res = await create({ title: 'Water the plants', body: 'the ficus too' });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      title: 'Water the plants',
      body: 'the ficus too',
      state: 'open',
      version: 1,
      source: 'api',
      job: null,
      createdBy: { name: 'reviewer' },
      comments: [],
    });
    const list = await g.fetch('/api/v1/tasks?state=open', { auth: tasksToken });
    const listed = list.json.tasks.find((t: { id: string }) => t.id === res.json.id);
    expect(listed.title).toBe('Water the plants');
    expect(listed.body).toBeUndefined();
    expect((await g.fetch(`/api/v1/tasks/${res.json.id}`, { auth: tasksToken })).json.body).toBe('the ficus too');
  });

  it('comments, edits (raising the version) and finishes a task; every step is in its event log', async () => {
    const { id } = (await create({ title: 'Draft' })).json;
    const c = await g.fetch(`/api/v1/tasks/${id}/comments`, { method: 'POST', auth: tasksToken, body: { text: 'looks fine' } });
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ seq: 2, by: { name: 'reviewer' }, text: 'looks fine' });
    const edited = await g.fetch(`/api/v1/tasks/${id}`, { method: 'PATCH', auth: tasksToken, body: { title: 'Final', body: 'text' } });
    expect(edited.json).toMatchObject({ title: 'Final', body: 'text', version: 2, comments: [{ text: 'looks fine' }] });
    const done = await g.fetch(`/api/v1/tasks/${id}`, { method: 'PATCH', auth: tasksToken, body: { state: 'done' } });
    expect(done.json).toMatchObject({ state: 'done', version: 3 });
    const events = (await g.fetch(`/api/v1/tasks/${id}/events`, { auth: tasksToken })).json.events;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['created', 'comment', 'updated', 'updated']);
    expect(events[1].text).toBe('looks fine');
    expect(events[3].detail).toEqual({ fields: ['state'], from: 'open', to: 'done' });
    expect((await g.fetch(`/api/v1/tasks/${id}`, { method: 'PATCH', auth: tasksToken, body: { title: 'again' } })).json.code).toBe('task_state_invalid');
  });

  it.each([
    ['a state PATCH cannot set', { state: 'approved' }, 400, 'validation_failed'],
    ['an unknown field', { owner: 'me' }, 400, 'validation_failed'],
  ])('refuses %s', async (_label, body, status, code) => {
    const { id } = (await create({ title: 'x' })).json;
    const res = await g.fetch(`/api/v1/tasks/${id}`, { method: 'PATCH', auth: tasksToken, body });
    expect([res.status, res.json.code]).toEqual([status, code]);
  });

  it('refuses to review an open task (409 task_state_invalid) and answers 404 task_not_found for unknown ids', async () => {
    const { id } = (await create({ title: 'nothing to approve' })).json;
    expect((await g.fetch(`/api/v1/tasks/${id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'approve' } })).json.code).toBe(
      'task_state_invalid',
    );
    for (const [method, path, body] of [
      ['GET', '/api/v1/tasks/task_nope', undefined],
      ['PATCH', '/api/v1/tasks/task_nope', { title: 'x' }],
      ['DELETE', '/api/v1/tasks/task_nope', undefined],
      ['POST', '/api/v1/tasks/task_nope/comments', { text: 'x' }],
      ['GET', '/api/v1/tasks/task_nope/events', undefined],
      ['POST', '/api/v1/tasks/task_nope/review', { decision: 'approve' }],
    ] as const) {
      const res = await g.fetch(path, { method, auth: tasksToken, ...(body ? { body } : {}) });
      expect([method, path, res.status, res.json.code]).toEqual([method, path, 404, 'task_not_found']);
    }
  });

  it('deletes a task and its log', async () => {
    const { id } = (await create({ title: 'temporary' })).json;
    expect((await g.fetch(`/api/v1/tasks/${id}`, { method: 'DELETE', auth: tasksToken })).json).toEqual({ deleted: true });
    expect((await g.fetch(`/api/v1/tasks/${id}`, { auth: tasksToken })).status).toBe(404);
  });

  it('needs scope tasks', async () => {
    const jobs = await tokenWith(g, 'jobs-only', ['jobs']);
    expect((await create({ title: 'x' }, jobs)).status).toBe(403);
    const read = await tokenWith(g, 'reader', ['read']);
    expect((await g.fetch('/api/v1/tasks', { auth: read })).status).toBe(200);
    expect((await create({ title: 'x' }, read)).status).toBe(403);
  });

  it('refuses a pending job for a service that does not exist', async () => {
    const res = await create({ title: 'x', job: { service: 'ghost' } });
    expect([res.status, res.json.code]).toEqual([404, 'service_not_found']);
  });

  it('seals titles, bodies and comments at rest', async () => {
    const marker = 'SEALED-MARKER-7d1f';
    const { id } = (await create({ title: `${marker} title`, body: `${marker} body`, job: { service: 'worker', payload: { note: marker } } })).json;
    await g.fetch(`/api/v1/tasks/${id}/comments`, { method: 'POST', auth: tasksToken, body: { text: `${marker} comment` } });
    for (const f of ['moat.db', 'moat.db-wal']) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(g.dataDir, f));
      } catch {
        continue;
      }
      expect(bytes.includes(marker)).toBe(false);
    }
  });
});

describe('a task holding a job', () => {
  it('starts pending_approval; its job runs on the worker only once approved, and the task is done when it succeeds', async () => {
    const jobsBefore = await jobIds(g);
    const t = (await create({ title: 'Render the video', job: { service: 'worker', payload: { steps: 2, stepMs: 5, clip: 'intro' } } }, agentToken)).json;
    expect(t).toMatchObject({ state: 'pending_approval', job: { service: 'worker', id: null, payload: { steps: 2, stepMs: 5, clip: 'intro' } } });
    expect(await jobIds(g)).toEqual(jobsBefore); // nothing is queued before the approval

    const approved = await g.fetch(`/api/v1/tasks/${t.id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'approve', comment: 'go ahead' } });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ state: 'approved', reviewedBy: { name: 'reviewer' }, comments: [{ text: 'go ahead' }] });
    const jobId = approved.json.job.id as string;
    expect(jobId).toMatch(/^job_/);
    const job = await waitForJob(g, jobId);
    expect(job).toMatchObject({ state: 'succeeded', result: { echo: { steps: 2, stepMs: 5, clip: 'intro' } }, createdBy: { name: 'reviewer' } });
    await waitFor(async () => (await g.fetch(`/api/v1/tasks/${t.id}`, { auth: tasksToken })).json.state === 'done', 'task done');
    const types = (await g.fetch(`/api/v1/tasks/${t.id}/events`, { auth: tasksToken })).json.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(['created', 'reviewed', 'comment', 'job.submitted', 'job.finished']);
    expect((await g.fetch(`/api/v1/tasks/${t.id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'approve' } })).json.code).toBe(
      'task_state_invalid',
    );
    expect((await jobIds(g)).length).toBe(jobsBefore.length + 1);
  });

  it('rejected: its job never runs', async () => {
    const jobsBefore = await jobIds(g);
    const t = (await create({ title: 'Delete the backups', job: { service: 'worker', payload: {} } }, agentToken)).json;
    const rejected = await g.fetch(`/api/v1/tasks/${t.id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'reject' } });
    expect(rejected.json).toMatchObject({ state: 'rejected', job: { service: 'worker', id: null } });
    expect((await g.fetch(`/api/v1/tasks/${t.id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'approve' } })).json.code).toBe(
      'task_state_invalid',
    );
    expect(await jobIds(g)).toEqual(jobsBefore);
  });

  it('two approvals racing submit one job', async () => {
    const jobsBefore = (await jobIds(g)).length;
    const t = (await create({ title: 'Once', job: { service: 'worker', payload: { steps: 0 } } }, agentToken)).json;
    const answers = await Promise.all(
      [0, 1, 2].map(() => g.fetch(`/api/v1/tasks/${t.id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'approve' } })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    expect((await jobIds(g)).length).toBe(jobsBefore + 1);
  });

  it('audits every review with who decided', async () => {
    const reviews = await audited(g, 'task.review');
    expect(reviews.length).toBeGreaterThanOrEqual(3);
    expect(reviews.every((e) => e.actor?.name === 'reviewer' && e.outcome === 'ok')).toBe(true);
    expect(reviews.map((e) => e.detail.decision)).toEqual(expect.arrayContaining(['approve', 'reject']));
  });

  it('publishes task events on the live stream (family tasks)', async () => {
    const ac = new AbortController();
    const res = await request(`${g.url}/api/v1/events`, { headers: { authorization: `Bearer ${tasksToken}` }, signal: ac.signal });
    let text = '';
    const reading = (async () => {
      try {
        for await (const chunk of res.body) {
          text += chunk.toString();
          if (text.includes('event: task.reviewed')) break;
        }
      } catch {
        // aborted
      }
    })();
    await waitFor(() => text.includes(': connected'), 'stream connected');
    const t = (await create({ title: 'streamed', job: { service: 'worker', payload: { steps: 0 } } }, agentToken)).json;
    await g.fetch(`/api/v1/tasks/${t.id}/review`, { method: 'POST', auth: tasksToken, body: { decision: 'reject' } });
    await waitFor(() => text.includes('event: task.reviewed'), 'task.reviewed on the stream', 5000);
    ac.abort();
    await reading;
    expect(text).toContain('event: task.created');
    expect(text).toContain(`"id":"${t.id}"`);
    expect(text).not.toContain('streamed'); // titles stay out of the stream
  });
});
