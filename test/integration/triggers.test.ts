/**
 * POST /api/v1/triggers/<path> from outside: scope hooks, placeholders from the query and body, an
 * unknown path is a 404 that names no known path, Idempotency-Key deduplicates per token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, jobIds, waitForJob } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';
import { tokenWith } from '../helpers/tools.js';

let g: TestGateway;
let hooksToken: string;

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({
    rateLimit: { enabled: false },
    services: [spec(worker)],
    triggers: [
      {
        path: 'home/doorbell',
        action: { type: 'job', service: 'worker', payload: { steps: 1, stepMs: 1, who: '{query.who}', where: '{body.room}', level: '{body.level}' } },
      },
      {
        path: 'secret-deploy-path',
        action: { type: 'task', title: 'deploy {body.version} to {query.env}', job: { service: 'worker', payload: { version: '{body.version}' } } },
      },
    ],
  });
  hooksToken = await tokenWith(g, 'automation', ['hooks']);
});
afterAll(() => g?.stop());

describe('triggers', () => {
  it('a hooks token runs the mapped job, filled from the query and the body', async () => {
    const res = await g.fetch('/api/v1/triggers/home/doorbell?who=alice', { method: 'POST', auth: hooksToken, body: { room: 'hall', level: 3 } });
    expect(res.status).toBe(202);
    const job = await waitForJob(g, res.json.job);
    expect(job.state).toBe('succeeded');
    expect(job.result).toEqual({ echo: { steps: 1, stepMs: 1, who: 'alice', where: 'hall', level: 3 } });
    expect(job.createdBy.name).toBe('automation');
  });

  it('maps a path to a task holding a job that waits for approval', async () => {
    const res = await g.fetch('/api/v1/triggers/secret-deploy-path?env=prod', { method: 'POST', auth: hooksToken, body: { version: '1.2.3' } });
    expect(res.status).toBe(202);
    const task = (await g.fetch(`/api/v1/tasks/${res.json.task}`)).json;
    expect(task).toMatchObject({
      title: 'deploy 1.2.3 to prod',
      state: 'pending_approval',
      source: 'trigger:secret-deploy-path',
      job: { service: 'worker', id: null, payload: { version: '1.2.3' } },
    });
  });

  it.each([['unknown'], ['home'], ['home/doorbell/extra'], ['secret-deploy'], ['HOME/doorbell']])(
    'an unknown path (%s) is 404 trigger_not_found and lists no known path',
    async (path) => {
      const res = await g.fetch(`/api/v1/triggers/${path}`, { method: 'POST', auth: hooksToken, body: {} });
      expect(res.status).toBe(404);
      expect(res.json.code).toBe('trigger_not_found');
      expect(res.text).not.toMatch(/doorbell|secret-deploy-path/);
    },
  );

  it('needs scope hooks (a tasks or jobs token is 403), and a token', async () => {
    for (const scopes of [['tasks'], ['jobs'], ['read']]) {
      const t = await tokenWith(g, `t-${scopes[0]}`, scopes);
      expect((await g.fetch('/api/v1/triggers/home/doorbell', { method: 'POST', auth: t, body: {} })).status).toBe(403);
    }
    expect((await g.fetch('/api/v1/triggers/home/doorbell', { method: 'POST', auth: false, body: {} })).status).toBe(401);
  });

  it('the same Idempotency-Key from the same token runs once', async () => {
    const before = (await jobIds(g)).length;
    const call = () =>
      g.fetch('/api/v1/triggers/home/doorbell?who=bob', { method: 'POST', auth: hooksToken, body: {}, headers: { 'idempotency-key': 'door-42' } });
    const first = await call();
    const second = await call();
    expect([first.status, second.status]).toEqual([202, 200]);
    expect(second.json).toMatchObject({ duplicate: true, job: first.json.job });
    expect((await jobIds(g)).length).toBe(before + 1);
  });

  it('audits every call as trigger.call (once), known or not', async () => {
    const res = await g.fetch('/api/v1/triggers/nope', { method: 'POST', auth: hooksToken, body: {} });
    const mine = [...(await audited(g, 'trigger.call')), ...(await audited(g, 'http.write'))].filter((e) => e.requestId === res.headers['x-request-id']);
    expect(mine).toMatchObject([{ type: 'trigger.call', outcome: 'denied', code: 'trigger_not_found', actor: { name: 'automation' } }]);
    expect(JSON.stringify(mine)).not.toContain('nope');
  });
});
