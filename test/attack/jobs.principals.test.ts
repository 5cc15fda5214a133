/**
 * Attack on the job queue by another principal and by whoever is not the worker:
 * - a second `jobs` token (and a `read` token) guessing or listing another token's job ids: the
 *   summary only (never payload or result), no cancel, no delete;
 * - the first token's Idempotency-Key (and body) reused by the second: a job of its own, never the
 *   first one's;
 * - callbackUrls at loopback, LAN, link-local and cloud metadata, however spelled: 403
 *   egress_denied at submission, no job created, the block audited;
 * - progress posted by anyone but the attempt's worker: another job's progress token, a jobs token,
 *   no token; a progress token used as an API token;
 * - a payload over limits.maxBodyBytes: 413 before it is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { json, startStub, tokenWith, type StubService } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';
import { auditEntries } from '../helpers/tools.js';

let g: TestGateway;
let stub: StubService;
/** Answers of the stub's job requests, released by the test. */
const pending = new Map<string, () => void>();
let alice: string;
let bob: string;
let reader: string;

beforeAll(async () => {
  stub = await startStub('stub', (req, res) => {
    const id = String(req.headers['x-moat-job-id']);
    let answered = false;
    pending.set(id, () => {
      if (answered || res.writableEnded) return;
      answered = true;
      json(res, 200, { done: id, secretResult: 'alice-result-0xC0FFEE' });
    });
  });
  g = await startGateway({ rateLimit: { enabled: false }, lockout: { after: 1000 }, services: [stub.spec], jobs: { progressPollMs: 0 } });
  await waitFor(() => g.gw.parts.supervisor.state('stub') === 'healthy', 'stub healthy');
  alice = await tokenWith(g, ['jobs']);
  bob = await tokenWith(g, ['jobs']);
  reader = await tokenWith(g, ['read']);
});
afterAll(async () => {
  for (const release of pending.values()) release();
  await g?.stop();
  await stub?.close();
});

const submit = (auth: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  g.fetch('/api/v1/jobs', { method: 'POST', auth, body, headers });

describe("another principal's job", () => {
  it('is a summary to another jobs token and to a read token, and cannot be canceled or deleted by them', async () => {
    const sub = await submit(alice, { service: 'stub', payload: { prompt: 'alice-payload-0xBEEF' } });
    expect(sub.status, sub.text).toBe(202);
    const id = sub.json.id as string;
    await waitFor(() => pending.has(id) || null, 'the job to reach the stub');
    const progressToken = String(stub.requests.find((r) => r.headers['x-moat-job-id'] === id)?.headers['x-moat-progress-token']);
    expect((await g.fetch(`/api/v1/jobs/${id}/progress`, { method: 'POST', auth: progressToken, body: { progress: 0.5, message: 'half' } })).status).toBe(200);
    pending.get(id)?.();
    await waitFor(async () => ((await g.fetch(`/api/v1/jobs/${id}`, { auth: alice })).json.state === 'succeeded' ? true : null), 'the job to succeed');

    for (const other of [bob, reader]) {
      const one = await g.fetch(`/api/v1/jobs/${id}`, { auth: other });
      expect(one.status).toBe(200);
      expect(one.json.access).toBe('summary');
      for (const secret of ['alice-payload-0xBEEF', 'alice-result-0xC0FFEE']) expect(one.text).not.toContain(secret);
      const list = await g.fetch('/api/v1/jobs?limit=500', { auth: other });
      for (const secret of ['alice-payload-0xBEEF', 'alice-result-0xC0FFEE']) expect(list.text).not.toContain(secret);
    }
    const cancel = await g.fetch(`/api/v1/jobs/${id}/cancel`, { method: 'POST', auth: bob });
    expect([403, 409]).toContain(cancel.status);
    const del = await g.fetch(`/api/v1/jobs/${id}`, { method: 'DELETE', auth: bob });
    expect(del.status).toBe(403);
    expect(del.json.code).toBe('not_owner');
    expect((await g.fetch(`/api/v1/jobs/${id}`, { method: 'DELETE', auth: reader })).status).toBe(403);
    expect((await g.fetch(`/api/v1/jobs/${id}`, { auth: alice })).json.result).toEqual({ done: id, secretResult: 'alice-result-0xC0FFEE' });
  });

  it('a queued job of another token cannot be canceled (403 not_owner, audited), and a guessed id is 404', async () => {
    const blocker = await submit(alice, { service: 'stub', payload: { n: 1 } });
    const queued = await submit(alice, { service: 'stub', payload: { n: 2 } });
    const res = await g.fetch(`/api/v1/jobs/${queued.json.id}/cancel`, { method: 'POST', auth: bob });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('not_owner');
    // Repeated refusals of one client are counted into one entry per window (docs/audit.md): at least one is written.
    const denied = (await auditEntries(g)).filter((e) => e.type === 'authz.denied' && e.code === 'not_owner');
    expect(denied.length).toBeGreaterThan(0);
    const guessed = await g.fetch(`/api/v1/jobs/${queued.json.id.slice(0, -2)}xx`, { auth: bob });
    expect(guessed.status).toBe(404);
    await waitFor(() => pending.has(blocker.json.id) || null, 'blocker running');
    pending.get(blocker.json.id)?.();
    await waitFor(() => pending.has(queued.json.id) || null, 'second running');
    pending.get(queued.json.id)?.();
  });

  it("the same Idempotency-Key and body from another token makes that token's own job, never the first one", async () => {
    const key = '6f1c0d4e-8a2b-4c3d-9e5f-0a1b2c3d4e5f';
    const body = { service: 'stub', payload: { prompt: 'shared-body' } };
    const a = await submit(alice, body, { 'idempotency-key': key });
    const b = await submit(bob, body, { 'idempotency-key': key });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.json.id).not.toBe(a.json.id);
    expect(b.headers['idempotency-replayed']).toBeUndefined();
    const bAgain = await submit(bob, body, { 'idempotency-key': key });
    expect(bAgain.json.id).toBe(b.json.id);
    const bOther = await submit(bob, { service: 'stub', payload: { prompt: 'other' } }, { 'idempotency-key': key });
    expect(bOther.status).toBe(409);
    expect(bOther.text).not.toContain(a.json.id);
    for (const j of [a.json.id, b.json.id]) {
      await waitFor(() => pending.has(j) || null, `${j} running`, 20_000);
      pending.get(j)?.();
    }
  });
});

describe('callbackUrl at an address the egress guard refuses', () => {
  const urls = [
    'http://127.0.0.1/cb',
    'http://127.1/cb',
    'http://2130706433/cb',
    'http://0x7f000001/cb',
    'http://0177.0.0.1/cb',
    'http://localhost/cb',
    'http://[::1]/cb',
    'http://[::ffff:127.0.0.1]/cb',
    'http://[::ffff:7f00:1]/cb',
    'http://0.0.0.0/cb',
    'http://[::]/cb',
    'http://10.0.0.1/cb',
    'http://172.16.5.4/cb',
    'http://192.168.1.1/cb',
    'http://100.64.0.1/cb',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/cb',
    'http://[fd00::1]/cb',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://user:pass@127.0.0.1/cb',
    'http://example.com@127.0.0.1/cb',
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_INFO',
    'ftp://10.0.0.1/x',
    'not a url',
    'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
    'http://[0:0:0:0:0:ffff:127.0.0.1]/cb',
    'http://[::127.0.0.1]/cb',
    'http://[64:ff9b::7f00:1]/cb',
    'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/',
    'http://[2002:7f00:1::]/cb',
    'http://[2002:a9fe:a9fe::]/cb',
    'http://0/cb',
    'http://127.0.0.1.:80/cb',
    'http://LOCALHOST./cb',
    'http://[::1%25lo]/cb',
    'http://%31%32%37.0.0.1/cb',
    'http://127.0.0.1:22/cb',
    'http://[fc00::1]/cb',
    'http://224.0.0.1/cb',
    'http://255.255.255.255/cb',
    'http://198.18.0.1/cb',
  ];
  it.each(urls)('%s: refused at submission, no job created', async (url) => {
    const before = (await g.fetch('/api/v1/jobs?limit=500&mine=true', { auth: bob })).json.jobs.length;
    const res = await submit(bob, { service: 'stub', payload: {}, callbackUrl: url });
    expect([400, 403], res.text).toContain(res.status);
    expect(['egress_denied', 'validation_failed']).toContain(res.json.code);
    expect((await g.fetch('/api/v1/jobs?limit=500&mine=true', { auth: bob })).json.jobs.length).toBe(before);
  });

  it("every refusal at submission is audited (egress.blocked, purpose callback), never with the URL's credentials", async () => {
    const res = await submit(bob, { service: 'stub', payload: {}, callbackUrl: 'http://admin:hunter2-secret@169.254.169.254/latest/' });
    expect(res.status).toBe(403);
    const entries = await auditEntries(g);
    expect(entries.some((e) => e.type === 'egress.blocked' && e.detail?.purpose === 'callback')).toBe(true);
    expect(JSON.stringify(entries)).not.toContain('hunter2-secret');
    expect(g.logs.text).not.toContain('hunter2-secret');
    expect(res.text).not.toContain('hunter2-secret');
  });
});

describe('progress from anyone but the worker of the attempt', () => {
  it("is refused: another job's progress token, a jobs token, the admin token, no token; a progress token is no API token", async () => {
    const one = await submit(alice, { service: 'stub', payload: { p: 1 } });
    await waitFor(() => pending.has(one.json.id) || null, 'running');
    const two = await submit(alice, { service: 'stub', payload: { p: 2 } });
    const token = String(stub.requests.find((r) => r.headers['x-moat-job-id'] === one.json.id)?.headers['x-moat-progress-token']);
    const post = (id: string, auth: string | false) =>
      g.fetch(`/api/v1/jobs/${id}/progress`, { method: 'POST', auth, body: { progress: 0.9, message: 'forged' } });
    for (const [auth, id] of [
      [token, two.json.id],
      [alice, one.json.id],
      [g.token, one.json.id],
      [false, one.json.id],
      [`${token}x`, one.json.id],
    ] as Array<[string | false, string]>) {
      const res = await post(id, auth);
      expect(res.status, `${String(auth).slice(0, 8)} -> ${id}`).toBe(401);
    }
    for (const path of ['/api/v1/jobs', `/api/v1/jobs/${one.json.id}`, '/api/v1/status']) {
      expect((await g.fetch(path, { auth: token })).status).toBe(401);
    }
    const view = await g.fetch(`/api/v1/jobs/${one.json.id}`, { auth: alice });
    expect(view.json.progress.message).not.toBe('forged');
    pending.get(one.json.id)?.();
    await waitFor(() => pending.has(two.json.id) || null, 'second running');
    pending.get(two.json.id)?.();
  });
});

describe('an oversized submission', () => {
  it('is refused with 413 before it is queued', async () => {
    const before = (await g.fetch('/api/v1/jobs?limit=500&mine=true', { auth: bob })).json.jobs.length;
    const res = await submit(bob, { service: 'stub', payload: { blob: 'x'.repeat(300 * 1024) } });
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('body_too_large');
    expect((await g.fetch('/api/v1/jobs?limit=500&mine=true', { auth: bob })).json.jobs.length).toBe(before);
  });
});
