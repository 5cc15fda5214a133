/**
 * Attack on the record: after the refusals and successes an attacker causes at the doors without a
 * bearer token (hook deliveries, the WhatsApp handshake, pairing and console codes, session cookies,
 * action links, progress tokens), every refusal has its audit entry, and no secret that crossed
 * the wire (hook secrets, signatures, X-Webhook-Secret, verify tokens, pairing digits and link codes,
 * cookie values, link tokens and MACs, progress tokens, the callback secret) is in any audit file
 * (the security log included) or any log line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditText } from '../helpers/audit.js';
import { auditEntries } from '../helpers/tools.js';
import { asPage, cookieOf, exchange, mintConsoleCode } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { deliver, githubHeaders, hmacHex } from '../helpers/hooks.js';
import { json, startStub, tokenWith, type StubService } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

const GH = 'sweep-github-secret-0123456789';
const PLAIN = 'sweep-plain-secret-9876543210';
const VERIFY = 'sweep-wa-verify-token-55555';
let g: TestGateway;
let stub: StubService;
const release: Array<() => void> = [];
/** Every secret that crossed the wire in this file. */
const secrets = new Set<string>([GH, PLAIN, VERIFY]);
/** Request ids of refusals, each of which must have an audit entry. */
const refusals: Array<{ what: string; requestId: string; code: string }> = [];

beforeAll(async () => {
  stub = await startStub('stub', (req, res) => {
    if (req.body.includes('"hold":true')) release.push(() => json(res, 200, { ok: true }));
    else json(res, 200, { ok: true });
  });
  g = await startGateway({
    rateLimit: { enabled: false },
    lockout: { after: 1000 },
    services: [stub.spec],
    jobs: { progressPollMs: 0 },
    hooks: [
      { name: 'gh', verify: 'github', secret: GH, action: { type: 'task', title: 'gh {body.ref}', job: { service: 'stub', payload: {} } } },
      { name: 'plain', verify: 'secret', secret: PLAIN, action: { type: 'task', title: 'plain' } },
      { name: 'wa', verify: 'whatsapp', secret: GH, verifyToken: VERIFY, action: { type: 'task', title: 'wa' } },
    ],
  });
  await waitFor(() => g.gw.parts.supervisor.state('stub') === 'healthy', 'stub healthy');
});
afterAll(async () => {
  for (const r of release.splice(0)) r();
  await g?.stop();
  await stub?.close();
});

const refused = (what: string, res: { json: any; headers: Record<string, unknown> }) => {
  const requestId = (res.json?.requestId ?? res.headers['x-request-id']) as string;
  expect(requestId, what).toBeTruthy();
  refusals.push({ what, requestId, code: String(res.json?.code) });
};

describe('the doors without a bearer token', () => {
  it('hooks: forged and genuine deliveries, a wrong and a right shared secret, the WhatsApp handshake', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/sweep' });
    const good = githubHeaders(GH, body, 'sweep-1');
    secrets.add(good['x-hub-signature-256'] as string);
    expect((await deliver(g, 'gh', body, good)).status).toBe(202);
    const forgedSig = `sha256=${hmacHex('not-the-secret-000000', body)}`;
    secrets.add(forgedSig);
    refused('forged github', await deliver(g, 'gh', body, { ...good, 'x-hub-signature-256': forgedSig, 'x-github-delivery': 'sweep-2' }));
    const wrongPlain = 'a-guessed-shared-secret-1234';
    secrets.add(wrongPlain);
    refused('wrong X-Webhook-Secret', await deliver(g, 'plain', '{}', { 'content-type': 'application/json', 'x-webhook-secret': wrongPlain }));
    expect((await deliver(g, 'plain', '{}', { 'content-type': 'application/json', 'x-webhook-secret': PLAIN })).status).toBe(202);
    const wrongVerify = 'guessed-verify-token-77777';
    secrets.add(wrongVerify);
    const hs = (token: string) => g.fetch(`/hooks/wa?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=c123`, { auth: false });
    refused('wrong verify token', await hs(wrongVerify));
    expect((await hs(VERIFY)).status).toBe(200);
  });

  it('pairing and console codes, session cookies', async () => {
    const code = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'] } });
    secrets.add(code.json.code);
    const wrong = code.json.code === '123456' ? '654321' : '123456';
    refused('wrong pairing code', await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': wrong } }));
    const paired = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': code.json.code } });
    expect(paired.status).toBe(201);
    secrets.add(paired.json.token);
    const minted = await mintConsoleCode(g, ['read']);
    secrets.add(minted.link);
    secrets.add(minted.code as string);
    refused('wrong console link', await exchange(g, `${minted.link.slice(0, -1)}${minted.link.endsWith('A') ? 'B' : 'A'}`));
    const res = await exchange(g, minted.link);
    expect(res.status).toBe(201);
    const c = cookieOf(res);
    secrets.add(c.value);
    expect((await asPage(g, { cookie: c.pair }, '/api/v1/me')).status).toBe(200);
    expect((await asPage(g, { cookie: c.pair }, '/api/v1/console/session', { method: 'DELETE' })).status).toBe(204);
    refused('ended session cookie', await asPage(g, { cookie: c.pair }, '/api/v1/me'));
  });

  it('action links and progress tokens', async () => {
    const delivered = await deliver(
      g,
      'gh',
      JSON.stringify({ ref: 'refs/heads/links' }),
      githubHeaders(GH, JSON.stringify({ ref: 'refs/heads/links' }), 'sweep-3'),
    );
    const taskId = delivered.json.task as string;
    const links = await g.fetch(`/api/v1/tasks/${taskId}/links`, { method: 'POST', body: {} });
    expect(links.status, links.text).toBe(201);
    const approve = new URL(links.json.approve).pathname.slice('/actions/'.length);
    const reject = new URL(links.json.reject).pathname.slice('/actions/'.length);
    for (const t of [approve, reject, ...approve.split('.'), ...reject.split('.')]) secrets.add(t);
    refused('tampered link', await g.fetch(`/actions/${approve.slice(0, -1)}x`, { method: 'POST', auth: false }));
    expect((await g.fetch(`/actions/${approve}`, { method: 'POST', auth: false })).status).toBe(200);
    refused('used link', await g.fetch(`/actions/${approve}`, { method: 'POST', auth: false }));
    refused('stale link', await g.fetch(`/actions/${reject}`, { method: 'POST', auth: false }));

    const jobs = await tokenWith(g, ['jobs']);
    secrets.add(jobs);
    const job = await g.fetch('/api/v1/jobs', { method: 'POST', auth: jobs, body: { service: 'stub', payload: { hold: true } } });
    const id = job.json.id as string;
    const progress = await waitFor(
      () => {
        const r = stub.requests.find((q) => q.headers['x-moat-job-id'] === id);
        return r ? String(r.headers['x-moat-progress-token']) : null;
      },
      'the job at the stub',
      20_000,
    );
    secrets.add(progress);
    const forged = `mjp_${'A'.repeat(32)}`;
    secrets.add(forged);
    refused('wrong progress token', await g.fetch(`/api/v1/jobs/${id}/progress`, { method: 'POST', auth: forged, body: { progress: 0.5 } }));
    expect((await g.fetch(`/api/v1/jobs/${id}/progress`, { method: 'POST', auth: progress, body: { progress: 0.5 } })).status).toBe(200);
    refused('progress token as an API token', await g.fetch('/api/v1/jobs', { auth: progress }));
    const cb = await g.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent('https://receiver.example/cb')}`);
    secrets.add(cb.json.secret);
    // The install-wide secret the receiver keys derive from (never handed out, never written anywhere else).
    secrets.add(Buffer.from(readFileSync(join(g.dataDir, 'keys', 'callback.key'), 'utf8').trim(), 'base64').toString('base64url'));
    for (const r of release.splice(0)) r();
  });
});

describe('the record afterwards', () => {
  it('has an entry for every refusal (its own, or the counted entry of the first like it from the same client)', async () => {
    const entries = await auditEntries(g);
    const own = (id: string) => entries.find((e) => e.requestId === id);
    const missing = refusals.filter((r, i) => {
      if (own(r.requestId)) return false;
      // Refusals of one client, type and code within a window are counted into the first one's entry (docs/audit.md).
      return !refusals.slice(0, i).some((earlier) => earlier.code === r.code && own(earlier.requestId)?.code === r.code);
    });
    expect(missing.map((m) => m.what)).toEqual([]);
    const types = new Set(refusals.map((r) => own(r.requestId)?.type).filter(Boolean));
    for (const t of ['hook.delivery', 'hook.handshake', 'pairing.failure', 'auth.failure', 'link.refused']) expect(types, t).toContain(t);
  });

  it('holds no secret in any audit file or log line', async () => {
    const text = auditText(g.dataDir);
    const logs = g.logs.text;
    const leaks = [...secrets].filter((s) => s.length >= 6 && (text.includes(s) || logs.includes(s)));
    expect(leaks.map((s) => `${s.slice(0, 6)}… in ${text.includes(s) ? 'audit' : 'logs'}`)).toEqual([]);
  });
});
