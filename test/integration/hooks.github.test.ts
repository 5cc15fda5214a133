/**
 * End to end through a real gateway and the example worker: a signed GitHub-style delivery becomes
 * a job that runs; a redelivery does nothing; forged deliveries (every variant) are refused with
 * 401 signature_invalid, create nothing, and are audited with their reason, never with the body or
 * the secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditText } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, deliver, githubHeaders, hmacHex, jobIds, waitForJob } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';

const SECRET = 'gh-secret-for-the-test-0123';
const GH_SECRET = "It's a Secret to Everybody";
let g: TestGateway;

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({
    rateLimit: { enabled: false },
    services: [spec(worker)],
    hooks: [
      {
        name: 'gh',
        verify: 'github',
        secret: SECRET,
        action: {
          type: 'job',
          service: 'worker',
          payload: { steps: 1, stepMs: 1, ref: '{body.ref}', event: '{header.x-github-event}', commits: '{body.commits}' },
        },
      },
      { name: 'published', verify: 'github', secret: GH_SECRET, action: { type: 'job', service: 'worker', payload: {} } },
      { name: 'nosecret', verify: 'github', action: { type: 'job', service: 'worker', payload: {} } },
    ],
  });
});
afterAll(() => g?.stop());

const push = (ref: string) => JSON.stringify({ ref, commits: [{ id: 'c1', message: 'fix {body.ref}' }], pusher: { name: 'octocat' } }, null, 2);

describe('a signed GitHub delivery', () => {
  it('becomes a job on the example worker, with the payload filled from the verified body, and runs', async () => {
    const body = push('refs/heads/main');
    const res = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'd-0001'));
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ accepted: true, duplicate: false, task: null });
    const job = await waitForJob(g, res.json.job);
    expect(job.state).toBe('succeeded');
    expect(job.createdBy).toEqual({ id: 'hook:gh', name: 'hook gh' });
    expect(job.result).toEqual({ echo: { steps: 1, stepMs: 1, ref: 'refs/heads/main', event: 'push', commits: [{ id: 'c1', message: 'fix {body.ref}' }] } });
  });

  it('a redelivery (same X-GitHub-Delivery) answers 200 duplicate: true and creates nothing', async () => {
    const body = push('refs/heads/dev');
    const first = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'd-0002'));
    expect(first.status).toBe(202);
    const before = await jobIds(g);
    for (let i = 0; i < 3; i++) {
      const again = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'd-0002'));
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ accepted: false, duplicate: true, job: first.json.job, task: null });
    }
    expect(await jobIds(g)).toEqual(before);
  });

  it('two copies of a new delivery racing make one job', async () => {
    const body = push('refs/heads/race');
    const before = (await jobIds(g)).length;
    const answers = await Promise.all([0, 1, 2, 3].map(() => deliver(g, 'gh', body, githubHeaders(SECRET, body, 'd-race'))));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 202]);
    expect(new Set(answers.map((a) => a.json.job)).size).toBe(1);
    expect((await jobIds(g)).length).toBe(before + 1);
  });

  it('without a delivery id there is no deduplication: each delivery is a job', async () => {
    const body = push('refs/heads/no-id');
    const a = await deliver(g, 'gh', body, githubHeaders(SECRET, body));
    const b = await deliver(g, 'gh', body, githubHeaders(SECRET, body));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.json.job).not.toBe(b.json.job);
  });

  it("GitHub's published vector verifies end to end (its body is not JSON: 400 after verification, not 401)", async () => {
    const res = await deliver(g, 'published', 'Hello, World!', {
      'content-type': 'application/json',
      'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('json_invalid');
  });
});

describe('forged deliveries', () => {
  const body = push('refs/heads/forged');
  const sig = hmacHex(SECRET, body);
  const base = { 'content-type': 'application/json', 'x-github-event': 'push' };
  const reserialised = JSON.stringify(JSON.parse(body));
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ['signed with the wrong secret', body, { ...base, 'x-hub-signature-256': `sha256=${hmacHex('wrong-secret-wrong-secret', body)}` }, 'mismatch'],
    ['a tampered body', body.replace('forged', 'f0rged'), { ...base, 'x-hub-signature-256': `sha256=${sig}` }, 'mismatch'],
    ['the signature of re-serialised JSON', body, { ...base, 'x-hub-signature-256': `sha256=${hmacHex(SECRET, reserialised)}` }, 'mismatch'],
    ['re-serialised JSON sent with the original signature', reserialised, { ...base, 'x-hub-signature-256': `sha256=${sig}` }, 'mismatch'],
    ['an uppercase SHA256= prefix', body, { ...base, 'x-hub-signature-256': `SHA256=${sig}` }, 'malformed'],
    ['truncated hex', body, { ...base, 'x-hub-signature-256': `sha256=${sig.slice(0, 32)}` }, 'malformed'],
    ['overlong hex', body, { ...base, 'x-hub-signature-256': `sha256=${sig}${sig}` }, 'malformed'],
    ['no signature header', body, base, 'missing_header'],
  ];

  it.each(cases)('%s: 401 signature_invalid, no job, audited (%s)', async (label, sent, headers, reason) => {
    const before = await jobIds(g);
    const delivery = `forged-${label.replace(/\W+/g, '-')}`;
    const res = await deliver(g, 'gh', sent, { ...headers, 'x-github-delivery': delivery });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('signature_invalid');
    expect(await jobIds(g)).toEqual(before);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.headers['x-request-id']);
    expect(entry).toMatchObject({ outcome: 'denied', code: 'signature_invalid', client: '127.0.0.1', detail: { hook: 'gh', scheme: 'github', reason } });
  });

  it('a refused delivery id is not remembered: the genuine delivery with that id still runs', async () => {
    const forged = await deliver(g, 'gh', body, { ...base, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-github-delivery': 'd-claimed' });
    expect(forged.status).toBe(401);
    const genuine = await deliver(g, 'gh', body, githubHeaders(SECRET, body, 'd-claimed'));
    expect(genuine.status).toBe(202);
  });

  it('a hook with no secret configured refuses everything (fails closed), even a signature made with an empty key', async () => {
    const res = await deliver(g, 'nosecret', body, { ...base, 'x-hub-signature-256': `sha256=${hmacHex('', body)}` });
    expect(res.status).toBe(401);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.headers['x-request-id']);
    expect(entry?.detail.reason).toBe('no_secret');
  });

  it('an unknown hook is 404 hook_not_found, audited', async () => {
    const res = await deliver(g, 'nope', body, githubHeaders(SECRET, body));
    expect(res.status).toBe(404);
    expect(res.json.code).toBe('hook_not_found');
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.headers['x-request-id']);
    expect(entry).toMatchObject({ outcome: 'denied', detail: { hook: 'nope', reason: 'unknown_hook' } });
  });

  it('no audit entry and no log line holds the secret or the body', async () => {
    const entries = await audited(g, 'hook.delivery');
    expect(entries.length).toBeGreaterThan(cases.length);
    for (const text of [auditText(g.dataDir), g.logs.text]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('octocat');
      expect(text).not.toContain('refs/heads/forged');
    }
  });

  it('every delivery gets exactly one audit entry (hook.delivery, not also http.write)', async () => {
    const res = await deliver(g, 'gh', body, { ...base, 'x-hub-signature-256': 'sha256=nope' });
    const all = (await audited(g, 'hook.delivery')).concat(await audited(g, 'http.write')).filter((e) => e.requestId === res.headers['x-request-id']);
    expect(all.map((e) => e.type)).toEqual(['hook.delivery']);
  });
});
