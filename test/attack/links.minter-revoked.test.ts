/**
 * Attack on signed action links from outside: a link approves "with the minter's authority"
 * (docs/hooks.md), so once that authority is withdrawn (the minting token revoked or expired) the
 * link must not show or act any more; and links spliced together (one link's payload with another's MAC, an approve
 * payload with its reject MAC), re-encoded or reused act never.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';

let g: TestGateway;
let agent: string;
let offsetMs = 0;

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({ rateLimit: { enabled: false }, services: [spec(worker)] }, { now: () => Date.now() + offsetMs });
  agent = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'agent', scopes: ['tasks'] } })).json.token as string;
});
afterAll(() => g?.stop());

async function pendingTask(): Promise<string> {
  const res = await g.fetch('/api/v1/tasks', {
    method: 'POST',
    auth: agent,
    body: { title: 'deploy', job: { service: 'worker', payload: { steps: 1, stepMs: 1 } } },
  });
  expect(res.status, res.text).toBe(201);
  return res.json.id as string;
}

async function linksBy(auth: string, id: string): Promise<{ approve: string; reject: string }> {
  const res = await g.fetch(`/api/v1/tasks/${id}/links`, { method: 'POST', auth, body: {} });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

const tokenOf = (url: string) => new URL(url).pathname.slice('/actions/'.length);
const act = (token: string) => g.fetch(`/actions/${token}`, { method: 'POST', auth: false });
const state = async (id: string) => (await g.fetch(`/api/v1/tasks/${id}`)).json.state as string;

describe('a link whose minter lost its authority', () => {
  // Found and fixed: the link's claims named no minter, so revoking the token that minted it (a
  // reviewer's token that leaked, say) left every link it minted good for up to 7 days.
  it('a link minted by a token that was revoked since neither shows nor acts (401 link_invalid, audited)', async () => {
    const reviewer = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'reviewer', scopes: ['tasks', 'jobs'] } })).json;
    const id = await pendingTask();
    const l = await linksBy(reviewer.token as string, id);
    expect((await g.fetch(`/api/v1/tokens/${reviewer.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await g.fetch('/api/v1/status', { auth: reviewer.token })).status).toBe(401);
    for (const url of [l.approve, l.reject]) {
      const shown = await g.fetch(`/actions/${tokenOf(url)}`, { auth: false });
      expect([shown.status, shown.json?.code]).toEqual([401, 'link_invalid']);
      const res = await act(tokenOf(url));
      expect([res.status, res.json.code]).toEqual([401, 'link_invalid']);
      const entry = (await audited(g, 'link.refused')).find((e) => e.requestId === res.json.requestId);
      expect(entry).toMatchObject({ outcome: 'denied', code: 'link_invalid', detail: { use: 'act', reason: 'minter_revoked', task: id } });
    }
    expect(await state(id)).toBe('pending_approval');
  });

  it('a link minted by a token that has expired since does not act either', async () => {
    const reviewer = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'short-lived', scopes: ['tasks', 'jobs'], ttlSeconds: 60 } })).json;
    expect(reviewer.token, JSON.stringify(reviewer)).toBeDefined();
    const id = await pendingTask();
    const l = await linksBy(reviewer.token as string, id);
    offsetMs = 61_000;
    try {
      expect((await g.fetch('/api/v1/status', { auth: reviewer.token })).status).toBe(401);
      const res = await act(tokenOf(l.approve));
      expect([res.status, res.json.code]).toEqual([401, 'link_invalid']);
      expect(await state(id)).toBe('pending_approval');
    } finally {
      offsetMs = 0;
    }
  });

  it("another token's revocation, and the admin's links, leave links alone", async () => {
    const reviewer = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'live-reviewer', scopes: ['tasks', 'jobs'] } });
    const bystander = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'bystander', scopes: ['tasks', 'jobs'] } });
    const a = await pendingTask();
    const b = await pendingTask();
    const la = await linksBy(reviewer.json.token as string, a);
    const lb = await linksBy(g.token, b);
    expect((await g.fetch(`/api/v1/tokens/${bystander.json.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await act(tokenOf(la.approve))).status).toBe(200);
    expect((await act(tokenOf(lb.reject))).status).toBe(200);
  });
});

describe('spliced, re-encoded and reused links', () => {
  it("an approve payload with the reject MAC, and one task's payload with another task's MAC, are link_invalid", async () => {
    const a = await pendingTask();
    const b = await pendingTask();
    const la = await linksBy(g.token, a);
    const lb = await linksBy(g.token, b);
    const [pa, ma] = tokenOf(la.approve).split('.') as [string, string];
    const [, mr] = tokenOf(la.reject).split('.') as [string, string];
    const [pb, mb] = tokenOf(lb.approve).split('.') as [string, string];
    for (const spliced of [`${pa}.${mr}`, `${pa}.${mb}`, `${pb}.${ma}`, `${pa}.${ma}.${ma}`, `${pa}..${ma}`, `.${ma}`, `${pa}.`]) {
      const res = await act(spliced);
      expect([res.status, res.json?.code], spliced.slice(0, 20)).toEqual([401, 'link_invalid']);
    }
    expect(await state(a)).toBe('pending_approval');
    expect(await state(b)).toBe('pending_approval');
    // Nothing was burned: the genuine links still act, once.
    expect((await act(tokenOf(la.approve))).status).toBe(200);
    expect((await act(tokenOf(la.approve))).status).toBe(409);
    expect((await act(tokenOf(lb.reject))).status).toBe(200);
    expect(await state(b)).toBe('rejected');
  });

  it('a payload re-encoded (standard base64 with padding, a trailing slash, a query) never acts twice', async () => {
    const id = await pendingTask();
    const l = await linksBy(g.token, id);
    const token = tokenOf(l.approve);
    const [p, m] = token.split('.') as [string, string];
    const std = Buffer.from(p, 'base64url').toString('base64');
    const variants = [`${std}.${m}`, `${p}=.${m}`, `${token}/`, `${token}%00`, `${token.toUpperCase()}`];
    for (const v of variants) {
      const res = await act(v);
      expect(res.status, v.slice(-12)).toBeGreaterThanOrEqual(400);
      expect(res.status).not.toBe(500);
    }
    expect(await state(id)).toBe('pending_approval');
    const first = await g.fetch(`/actions/${token}?again=1`, { method: 'POST', auth: false });
    expect(first.status).toBe(200);
    expect((await act(token)).status).toBe(409);
    const refused = await audited(g, 'link.refused');
    expect(refused.some((e) => e.code === 'link_used')).toBe(true);
    for (const e of refused) expect(JSON.stringify(e)).not.toContain(m);
  });
});
