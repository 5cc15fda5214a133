/**
 * Signed action links from outside: the GET page changes nothing and carries no script, a strict
 * CSP, framing and indexing forbidden; the POST approves exactly once; tampered, expired (injected
 * clock), reused and stale links are refused with their codes; every use and refusal is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, jobIds, waitForJob } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';

let g: TestGateway;
let offsetMs = 0;
/** Asks for the work (scope tasks); the admin token mints the links (a second principal). */
let agentToken: string;

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({ rateLimit: { enabled: false }, services: [spec(worker)], publicNames: ['moat.example.test'] }, { now: () => Date.now() + offsetMs });
  agentToken = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'agent', scopes: ['tasks'] } })).json.token as string;
});
afterAll(() => g?.stop());

async function pendingTask(title = 'Deploy <b>v2</b> & "more"'): Promise<string> {
  const res = await g.fetch('/api/v1/tasks', {
    method: 'POST',
    auth: agentToken,
    body: { title, job: { service: 'worker', payload: { steps: 1, stepMs: 1 } } },
  });
  return res.json.id as string;
}

async function links(id: string, ttlSeconds?: number): Promise<{ approve: string; reject: string; expiresAt: string }> {
  const res = await g.fetch(`/api/v1/tasks/${id}/links`, { method: 'POST', body: ttlSeconds === undefined ? {} : { ttlSeconds } });
  expect(res.status).toBe(201);
  return res.json;
}

/** The link's path on this gateway (links are minted for the public name). */
const pathOf = (url: string) => new URL(url).pathname;
const post = (url: string, headers: Record<string, string> = {}) => g.fetch(pathOf(url), { method: 'POST', auth: false, headers });
const get = (url: string) => g.fetch(pathOf(url), { auth: false });

async function refusal(requestId: string | string[] | undefined) {
  return (await audited(g, 'link.refused')).find((e) => e.requestId === requestId);
}

describe('minting', () => {
  it('mints approve and reject links on the first public name, 24 h by default', async () => {
    const id = await pendingTask();
    const before = Date.now();
    const l = await links(id);
    const after = Date.now();
    expect(l.approve).toMatch(new RegExp(`^http://moat\\.example\\.test:${g.gw.port}/actions/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    expect(l.reject).not.toBe(l.approve);
    // Minted between `before` and `after`: it expires 24 h after that.
    expect(Date.parse(l.expiresAt)).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(Date.parse(l.expiresAt)).toBeLessThanOrEqual(after + 86_400_000 + 1000);
  });

  it.each([
    ['more than 7 days', { ttlSeconds: 604_801 }, 400, 'validation_failed'],
    ['less than a minute', { ttlSeconds: 59 }, 400, 'validation_failed'],
  ])('refuses a ttl of %s', async (_label, body, status, code) => {
    const res = await g.fetch(`/api/v1/tasks/${await pendingTask()}/links`, { method: 'POST', body });
    expect([res.status, res.json.code]).toEqual([status, code]);
  });

  it('mints only for a pending_approval task', async () => {
    const open = (await g.fetch('/api/v1/tasks', { method: 'POST', body: { title: 'no job' } })).json.id;
    expect((await g.fetch(`/api/v1/tasks/${open}/links`, { method: 'POST', body: {} })).json.code).toBe('task_state_invalid');
  });
});

describe('the confirmation page (GET)', () => {
  it('shows the task and a POST form, with no script, a strict CSP, noindex, no referrer, no framing, and changes nothing', async () => {
    const id = await pendingTask();
    const l = await links(id);
    const res = await get(l.approve);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    expect(res.headers['x-robots-tag']).toBe('noindex, nofollow');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('<form method="post">');
    expect(res.text).toContain('Deploy &lt;b&gt;v2&lt;/b&gt; &amp; &quot;more&quot;');
    expect(res.text).not.toMatch(/<script|javascript:|\son[a-z]+=|<b>v2/i);
    for (let i = 0; i < 3; i++) expect((await get(l.approve)).status).toBe(200);
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json.state).toBe('pending_approval');
  });
});

describe('acting (POST)', () => {
  it('approves exactly once: the job runs, a second POST is 409 link_used, and so is the GET afterwards', async () => {
    const id = await pendingTask('approve me');
    const l = await links(id);
    const jobsBefore = (await jobIds(g)).length;
    const first = await post(l.approve);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ action: 'approve', task: { id, state: 'approved' } });
    expect((await waitForJob(g, first.json.task.job)).state).toBe('succeeded');
    const second = await post(l.approve);
    expect([second.status, second.json.code]).toEqual([409, 'link_used']);
    expect((await get(l.approve)).json.code).toBe('link_used');
    expect((await jobIds(g)).length).toBe(jobsBefore + 1);
    const task = (await g.fetch(`/api/v1/tasks/${id}`)).json;
    expect(task.reviewedBy).toEqual({ id: 'action-link', name: 'signed action link' });
    expect((await audited(g, 'link.used')).filter((e) => e.detail.task === id)).toHaveLength(1);
    expect(await refusal(second.headers['x-request-id'])).toMatchObject({ outcome: 'denied', code: 'link_used', detail: { task: id, use: 'act' } });
  });

  it('answers a browser (Accept: text/html, Origin: null from the no-referrer page) with a page', async () => {
    const l = await links(await pendingTask('browser'));
    const res = await g.fetch(pathOf(l.reject), {
      method: 'POST',
      auth: false,
      raw: '',
      headers: { accept: 'text/html', origin: 'null', 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Rejected.');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('takes the POST from its own origin, refuses one from another site', async () => {
    const l = await links(await pendingTask());
    expect((await post(l.reject, { origin: 'https://evil.example' })).json.code).toBe('origin_not_allowed');
    expect((await post(l.reject, { origin: g.url })).status).toBe(200);
  });

  it('using the approve link makes the reject link stale (409 link_stale)', async () => {
    const l = await links(await pendingTask());
    expect((await post(l.approve)).status).toBe(200);
    const res = await post(l.reject);
    expect([res.status, res.json.code]).toEqual([409, 'link_stale']);
  });

  it('a task reviewed through the API first makes its links stale (409 link_stale), audited', async () => {
    const id = await pendingTask();
    const l = await links(id);
    await g.fetch(`/api/v1/tasks/${id}/review`, { method: 'POST', body: { decision: 'reject' } });
    const res = await post(l.approve);
    expect([res.status, res.json.code]).toEqual([409, 'link_stale']);
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json.state).toBe('rejected');
    expect(await refusal(res.headers['x-request-id'])).toMatchObject({ code: 'link_stale', detail: { task: id, action: 'approve' } });
  });

  it('an edit after minting makes the links stale; new links work', async () => {
    const id = await pendingTask();
    const old = await links(id);
    await g.fetch(`/api/v1/tasks/${id}`, { method: 'PATCH', body: { title: 'changed after the link was sent' } });
    expect((await post(old.approve)).json.code).toBe('link_stale');
    expect((await get(old.approve)).json.code).toBe('link_stale');
    expect((await post((await links(id)).approve)).status).toBe(200);
  });

  it.each([
    ['a character of the MAC changed', (t: string) => t.slice(0, -2) + (t.at(-2) === 'A' ? 'B' : 'A') + t.at(-1)],
    ['a character of the payload changed', (t: string) => t.slice(0, 5) + (t[5] === 'A' ? 'B' : 'A') + t.slice(6)],
    ['the MAC cut short', (t: string) => t.slice(0, -1)],
    ['the MAC dropped', (t: string) => t.split('.')[0] as string],
    ['junk', () => 'not-a-token-at-all'],
  ])('%s: 401 link_invalid, nothing happens, audited', async (_label, tamper) => {
    const id = await pendingTask();
    const l = await links(id);
    const token = pathOf(l.approve).slice('/actions/'.length);
    const res = await g.fetch(`/actions/${tamper(token)}`, { method: 'POST', auth: false });
    expect([res.status, res.json.code]).toEqual([401, 'link_invalid']);
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json.state).toBe('pending_approval');
    expect(await refusal(res.headers['x-request-id'])).toMatchObject({ outcome: 'denied', code: 'link_invalid', detail: { use: 'act' } });
    expect((await get(l.approve)).status).toBe(200); // the genuine link still works
  });

  it('expired (injected clock): 401 link_expired on GET and POST, nothing happens, audited', async () => {
    const id = await pendingTask();
    const l = await links(id, 600);
    offsetMs = 601_000;
    try {
      const g1 = await get(l.approve);
      const p1 = await post(l.approve);
      expect([g1.status, g1.json.code, p1.status, p1.json.code]).toEqual([401, 'link_expired', 401, 'link_expired']);
      expect(await refusal(p1.headers['x-request-id'])).toMatchObject({ code: 'link_expired', detail: { use: 'act', reason: 'expired' } });
    } finally {
      offsetMs = 0;
    }
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json.state).toBe('pending_approval');
  });

  it('a link for a task that was deleted is 404 task_not_found', async () => {
    const id = await pendingTask();
    const l = await links(id);
    await g.fetch(`/api/v1/tasks/${id}`, { method: 'DELETE' });
    expect((await post(l.approve)).json.code).toBe('task_not_found');
  });

  it('never writes a token into the audit log or the log', async () => {
    const l = await links(await pendingTask());
    await post(l.approve);
    const token = pathOf(l.approve).slice('/actions/'.length);
    const all = JSON.stringify([...(await audited(g, 'link.used')), ...(await audited(g, 'link.refused')), ...(await audited(g, 'link.minted'))]);
    expect(all).not.toContain(token.split('.')[1]);
    expect(g.logs.text).not.toContain(token.split('.')[1]);
  });
});
