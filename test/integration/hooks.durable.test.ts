/**
 * What survives a restart: API hooks and their sealed secrets, remembered delivery ids and
 * Nextcloud randoms, used action links; and an approved task whose job could not be submitted is
 * submitted at the next start. Also the config file's refusals for hooks and triggers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { deliver, githubHeaders, hmacHex } from '../helpers/hooks.js';

const SECRET = 'durable-secret-0123456789';
let g: TestGateway | undefined;
afterEach(async () => {
  await g?.stop();
  g = undefined;
});

describe('across a restart', () => {
  it('keeps API hooks (secret sealed), delivery ids, randoms and used links', async () => {
    const dataDir = tmpDir();
    const talk = { name: 'talk', verify: 'nextcloud-talk', secret: SECRET, action: { type: 'task', title: 'talk' } };
    g = await startGateway({ dataDir, rateLimit: { enabled: false }, hooks: [talk] });
    expect(
      (await g.fetch('/api/v1/hooks', { method: 'POST', body: { name: 'gh', verify: 'github', secret: SECRET, action: { type: 'task', title: 'push' } } }))
        .status,
    ).toBe(201);
    const body = JSON.stringify({ ref: 'main' });
    const first = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'restart-1'));
    expect(first.status).toBe(202);
    const random = 'd4'.repeat(32);
    const talkHeaders = { 'content-type': 'application/json', 'x-nextcloud-talk-random': random, 'x-nextcloud-talk-signature': hmacHex(SECRET, random, body) };
    expect((await deliver(g, 'talk', body, talkHeaders)).status).toBe(202);
    const task = (await g.fetch('/api/v1/tasks', { method: 'POST', body: { title: 'approve me later', job: { service: 'nowhere', payload: {} } } })).json;
    expect(task.code).toBe('service_not_found'); // a task's job needs a known service
    const open = (await g.fetch('/api/v1/tasks', { method: 'POST', body: { title: 'x' } })).json.id;
    await g.stop();

    g = await startGateway({ dataDir, rateLimit: { enabled: false }, hooks: [talk] });
    expect((await g.fetch('/api/v1/hooks/gh')).json).toMatchObject({ secret: 'set', source: 'api' });
    const again = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'restart-1'));
    expect(again.json).toMatchObject({ duplicate: true, task: first.json.task });
    expect((await deliver(g, 'gh', body, githubHeaders('not-the-secret-000000', body, 'restart-2'))).status).toBe(401);
    expect((await deliver(g, 'talk', body, talkHeaders)).status).toBe(401);
    expect((await g.fetch(`/api/v1/tasks/${open}`)).json.title).toBe('x');
  });

  it('submits at start the job of a task approved while its service could not take it', async () => {
    const dataDir = tmpDir();
    g = await startGateway({ dataDir, rateLimit: { enabled: false } });
    const svc = { name: 'later', kind: 'url', baseUrl: 'http://127.0.0.1:9' };
    expect((await g.fetch('/api/v1/services', { method: 'POST', body: svc })).status).toBe(201);
    // Asked for by a tasks token, approved by admin (a task's job is approved by a second principal).
    const agent = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'agent', scopes: ['tasks'] } })).json.token as string;
    const id = (await g.fetch('/api/v1/tasks', { method: 'POST', auth: agent, body: { title: 'run later', job: { service: 'later', payload: { n: 1 } } } }))
      .json.id;
    expect((await g.fetch('/api/v1/services/later', { method: 'DELETE' })).status).toBe(200);
    const approved = await g.fetch(`/api/v1/tasks/${id}/review`, { method: 'POST', body: { decision: 'approve' } });
    expect(approved.json).toMatchObject({ state: 'approved', job: { service: 'later', id: null } });
    const types = (await g.fetch(`/api/v1/tasks/${id}/events`)).json.events.map((e: { type: string }) => e.type);
    expect(types).toContain('job.submit_failed');
    expect((await g.fetch('/api/v1/services', { method: 'POST', body: svc })).status).toBe(201);
    await g.stop();

    g = await startGateway({ dataDir, rateLimit: { enabled: false } });
    const after = (await g.fetch(`/api/v1/tasks/${id}`)).json;
    expect(after.job.id).toMatch(/^job_/);
    expect((await g.fetch(`/api/v1/jobs/${after.job.id}`)).json).toMatchObject({ service: 'later', payload: { n: 1 } });
  });
});

describe('config refusals', () => {
  const task = { type: 'task', title: 't' };
  it.each([
    [
      'the same hook name twice',
      {
        hooks: [
          { name: 'a', verify: 'github', secret: SECRET, action: task },
          { name: 'a', verify: 'slack', secret: SECRET, action: task },
        ],
      },
      /hooks: the name "a" is used twice/,
    ],
    [
      'a verify token on a GitHub hook',
      { hooks: [{ name: 'a', verify: 'github', secret: SECRET, verifyToken: 'verify-token-0123456', action: task }] },
      /verifyToken is for verify "whatsapp" only/,
    ],
    ['a short secret', { hooks: [{ name: 'a', verify: 'github', secret: 'short', action: task }] }, /hooks\.0\.secret/],
    ['an unknown scheme', { hooks: [{ name: 'a', verify: 'gitlab', secret: SECRET, action: task }] }, /hooks\.0\.verify/],
    [
      'a misspelt key',
      { hooks: [{ name: 'a', verify: 'github', secrett: SECRET, action: task }] },
      /unknown key hooks\.0\.secrett, did you mean hooks\.0\.secret\?/,
    ],
    [
      'the same trigger path twice',
      {
        triggers: [
          { path: 'p', action: task },
          { path: 'p', action: task },
        ],
      },
      /triggers: the path "p" is used twice/,
    ],
    ['a trigger path with ..', { triggers: [{ path: '../p', action: task }] }, /triggers\.0\.path/],
  ])('refuses %s with config_invalid', (_label, values, message) => {
    expect(() => createGateway({ values: { dataDir: tmpDir(), ...values } })).toThrowError(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringMatching(message) }),
    );
  });

  it('boots with a hook that has no secret, and says at boot that it refuses everything', async () => {
    g = await startGateway({ hooks: [{ name: 'open-door', verify: 'github', action: task }] });
    expect(g.logs.text).toContain('hook open-door has no secret: every delivery to it is refused');
  });
});
