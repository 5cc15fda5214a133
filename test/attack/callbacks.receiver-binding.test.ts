/**
 * Attack on `moat` hooks with signatures a `jobs` token can get: gateway 1 (the sender) runs a
 * worker that echoes its payload; gateway 2 holds `moat` hooks whose secrets are gateway 1's
 * receiver keys for their URLs. Mallory (scope `jobs` on gateway 1) has callbacks signed for
 * servers she controls (other ports, hosts, paths, spellings of the hook's URL), swaps and renames
 * their headers, and posts them to the hooks: every one is 401, creates nothing and is audited.
 * The legitimate path still works end to end: a callback or a webhook notification that gateway 1
 * sends to the hook's URL, on another gateway or on its own.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, deliver, hmacHex, taskIds } from '../helpers/hooks.js';
import { startJobsGateway, tokenWith, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

interface Capture {
  url: string;
  got: Array<{ path: string; body: string; signature: string; jobId: string }>;
  close(): Promise<void>;
}

/** Mallory's server: records what moat POSTs to it. */
async function captureOn(host: string): Promise<Capture> {
  const got: Capture['got'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body, signature: String(req.headers['moat-signature']), jobId: String(req.headers['moat-job-id']) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const task = (title: string) => ({ type: 'task', title });
const nowS = () => Math.floor(Date.now() / 1000);
let g1: JobsGateway;
let g2: TestGateway;
let mallory: string;
let here: Capture;
let there: Capture;
let install: string;
const keys: Record<string, string> = {};

async function keyFor(url: string): Promise<string> {
  const res = await g1.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent(url)}`);
  expect(res.status, res.text).toBe(200);
  return res.json.secret as string;
}

async function addHook(g: TestGateway, name: string, secret: string, title: string): Promise<void> {
  const res = await g.fetch('/api/v1/hooks', { method: 'POST', body: { name, verify: 'moat', secret, action: task(title) } });
  expect(res.status, res.text).toBe(201);
}

beforeAll(async () => {
  [here, there] = await Promise.all([captureOn('127.0.0.1'), captureOn('127.0.0.2')]);
  g2 = await startGateway({ rateLimit: { enabled: false } });
  g1 = await startJobsGateway({
    rateLimit: { enabled: false },
    callbacks: { maxAttempts: 1 },
    notifications: { webhook: { url: `${g2.url}/hooks/notes` } },
    egress: { purposes: { callback: { allowCidrs: ['127.0.0.0/8'] }, notify: { allowCidrs: ['127.0.0.0/8'] } } },
  });
  mallory = await tokenWith(g1, ['jobs']);
  // The operators: each hook holds gateway 1's key for its own URL; `old` holds what v1 trusted (the install secret).
  for (const name of ['a', 'b', 'notes']) keys[name] = await keyFor(`${g2.url}/hooks/${name}`);
  install = Buffer.from(readFileSync(join(g1.dataDir, 'keys', 'callback.key'), 'utf8').trim(), 'base64').toString('base64url');
  await addHook(g2, 'a', keys['a'] as string, 'a {body.job.id} {body.job.result.echo.say}');
  await addHook(g2, 'b', keys['b'] as string, 'b {body.job.id}');
  await addHook(g2, 'notes', keys['notes'] as string, 'note {body.id} {body.state}');
  await addHook(g2, 'old', install, 'old {body.job.id} {body.job.result.echo.say}');
  await addHook(g1, 'self', await keyFor(`${g1.url}/hooks/self`), 'self {body.job.id}');
}, 60_000);
afterAll(async () => {
  await g1?.stop();
  await g2?.stop();
  await here?.close();
  await there?.close();
});

/** Mallory's job, with a callbackUrl of her choosing; what arrived there. */
async function captured(callbackUrl: string, at: Capture): Promise<{ body: string; signature: string; jobId: string }> {
  const job = await g1.submit({ service: 'worker', payload: { steps: 0, say: 'deploy to prod' }, callbackUrl }, { auth: mallory });
  return waitFor(() => at.got.find((x) => x.jobId === job.id), `the callback of ${job.id}`);
}

/** Posts to a hook of gateway 2 and checks: 401 signature_invalid, nothing created, audited with `reason`. */
async function refused(hook: string, body: string, headers: Record<string, string>, reason: string): Promise<void> {
  const before = await taskIds(g2);
  const res = await deliver(g2, hook, body, { 'content-type': 'application/json', ...headers });
  expect(res.status, res.text).toBe(401);
  expect(res.json.code).toBe('signature_invalid');
  expect(await taskIds(g2)).toEqual(before);
  const entry = (await audited(g2, 'hook.delivery')).find((e) => e.requestId === res.json.requestId);
  expect(entry).toMatchObject({ outcome: 'denied', code: 'signature_invalid', detail: { hook, scheme: 'moat', reason } });
}

describe('a callback signed for a receiver Mallory controls, posted to a `moat` hook', () => {
  // [label, where the callback went (at Mallory's servers), which server got it]
  const rows: Array<[string, () => string, () => Capture]> = [
    ["the hook's path on another port", () => `${here.url}/hooks/a`, () => here],
    ["the hook's path on another host", () => `${there.url}/hooks/a`, () => there],
    ['a trailing slash', () => `${here.url}/hooks/a/`, () => here],
    ['the path in capitals', () => `${here.url}/HOOKS/A`, () => here],
    ['a percent-encoded name', () => `${here.url}/hooks/%61`, () => here],
    ["a query naming the hook's URL", () => `${here.url}/hooks/a?to=${encodeURIComponent(`${g2.url}/hooks/a`)}`, () => here],
    ['the root of her server', () => `${here.url}/`, () => here],
  ];
  it.each(rows)('%s: refused at the hook (v2), at a hook that kept the install secret (v1 trust), and under v1=', async (_label, url, at) => {
    const cb = await captured(url(), at());
    await refused('a', cb.body, { 'moat-signature': cb.signature }, 'mismatch');
    await refused('b', cb.body, { 'moat-signature': cb.signature }, 'mismatch');
    await refused('old', cb.body, { 'moat-signature': cb.signature }, 'mismatch');
    await refused('old', cb.body, { 'moat-signature': cb.signature.replace(',v2=', ',v1=') }, 'mismatch');
  });
});

describe('header swaps and old-scheme signatures', () => {
  let cb: { body: string; signature: string; jobId: string };
  beforeAll(async () => {
    cb = await captured(`${here.url}/swap`, here);
  });
  const t = () => nowS();
  const sigOf = (s: string) => s.split(',v2=')[1] as string;
  const forB = (body: string) => `t=${t()},v2=${hmacHex(keys['b'] as string, `${t()}.`, body)}`;
  const v1 = (body: string) => `t=${t()},v1=${hmacHex(install, `${t()}.`, body)}`;
  const rows: Array<[string, string, () => Record<string, string>, string]> = [
    ['her v2 renamed v1', 'a', () => ({ 'moat-signature': cb.signature.replace(',v2=', ',v1=') }), 'mismatch'],
    ['her v2 under a fresh t', 'a', () => ({ 'moat-signature': `t=${t()},v2=${sigOf(cb.signature)}` }), 'mismatch'],
    [
      'her v2 beside v1 and v3 copies of it',
      'a',
      () => ({ 'moat-signature': `${cb.signature},v1=${sigOf(cb.signature)},v3=${sigOf(cb.signature)}` }),
      'mismatch',
    ],
    ['her signature in Stripe-Signature', 'a', () => ({ 'stripe-signature': cb.signature }), 'missing_header'],
    ['her signature in X-Moat-Signature', 'a', () => ({ 'x-moat-signature': cb.signature }), 'missing_header'],
    ['a genuine signature for hook b, at hook a', 'a', () => ({ 'moat-signature': forB(cb.body) }), 'mismatch'],
    ['v1 with the install secret (what an old moat sends), at a hook that trusts it', 'old', () => ({ 'moat-signature': v1(cb.body) }), 'legacy_v1'],
    ['v1 with the install secret, at a v2 hook', 'a', () => ({ 'moat-signature': v1(cb.body) }), 'mismatch'],
    ['a valid v1 beside a wrong v2', 'old', () => ({ 'moat-signature': `${v1(cb.body)},v2=${'0'.repeat(64)}` }), 'mismatch'],
  ];
  it.each(rows)('%s: 401', async (_label, hook, headers, reason) => {
    await refused(hook, cb.body, headers(), reason);
  });
});

describe('the legitimate path, end to end', () => {
  it("a job on gateway 1 whose callbackUrl is gateway 2's `moat` hook triggers it, whoever submitted the job", async () => {
    const job = await g1.submit({ service: 'worker', payload: { steps: 0, say: 'ship it' }, callbackUrl: `${g2.url}/hooks/a` }, { auth: mallory });
    const title = `a ${job.id} ship it`;
    await waitFor(
      async () => (await g2.fetch('/api/v1/tasks?limit=500')).json.tasks.some((x: { title: string }) => x.title === title),
      'the task on gateway 2',
    );
    const done = await waitFor(async () => ((await g1.job(job.id)).callback.attempts[0] as { status: number } | undefined) ?? null, 'the attempt');
    expect(done.status).toBe(202);
  });

  it('spellings of the URL that send to the same place are the same receiver; one that is not is refused there', async () => {
    const [host, port] = [new URL(g2.url).hostname, new URL(g2.url).port];
    const same = await g1.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: `HTTP://${host}:${port}/hooks/./a?attempt=1` });
    const other = await g1.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: `${g2.url}/hooks/%61` });
    const attempt = async (id: string) =>
      waitFor(async () => ((await g1.job(id)).callback.attempts[0] as { status: number } | undefined) ?? null, `the attempt of ${id}`);
    expect((await attempt(same.id)).status).toBe(202);
    expect((await attempt(other.id)).status).toBe(401);
  });

  it("a webhook notification to gateway 2's hook verifies too (signed with the key of the webhook's URL)", async () => {
    const job = await g1.submit({ service: 'worker', notify: ['webhook'], payload: { steps: 0 } });
    const title = `note ${job.id} succeeded`;
    await waitFor(async () => (await g2.fetch('/api/v1/tasks?limit=500')).json.tasks.some((x: { title: string }) => x.title === title), 'the note task');
  });

  it("a job on gateway 1 whose callbackUrl is gateway 1's own `moat` hook triggers it", async () => {
    const job = await g1.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: `${g1.url}/hooks/self` });
    await waitFor(async () => (await g1.fetch('/api/v1/tasks?limit=500')).json.tasks.some((x: { title: string }) => x.title === `self ${job.id}`), 'the task');
  });
});
