/**
 * Attack on inbound hooks from outside, with a captured (genuinely signed) delivery or none:
 * - replay within the timestamp window, with the delivery id header changed or dropped: where the
 *   signed bytes name the delivery (a `moat` callback's job id, Stripe's event id, Linq's event_id,
 *   Standard Webhooks' webhook-id) the replay is a duplicate and creates nothing;
 * - duplicated, respelled and re-encoded signature headers and bodies (sent as raw HTTP/1.1, since
 *   Node joins a repeated header with ", "): 401 signature_invalid, nothing created, audited;
 * - one principal's own job callback, signed for its own server, delivered to a `moat` hook (401:
 *   signatures are keyed per receiver; more rows in callbacks.receiver-binding.test.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, deliver, hmacHex, taskIds } from '../helpers/hooks.js';
import { tokenWith } from '../helpers/jobs.js';
import { rawRequest } from '../helpers/raw.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

const S = 'attack-hook-secret-0123456789';
const SW = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let g: TestGateway;
const nowS = () => Math.floor(Date.now() / 1000);
const task = (title: string) => ({ type: 'task', title });

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({
    rateLimit: { enabled: false },
    services: [spec(worker)],
    egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } },
    hooks: [
      { name: 'gh', verify: 'github', secret: S, action: task('gh {body.ref}') },
      { name: 'slack', verify: 'slack', secret: S, action: task('slack {body.text}') },
      { name: 'stripe', verify: 'stripe', secret: S, action: task('stripe {body.type}') },
      { name: 'moat', verify: 'moat', secret: S, action: task('moat {body.job.id} {body.job.state}') },
      { name: 'gpu', verify: 'standard-webhooks', secret: SW, action: task('gpu {body.id}') },
      { name: 'linq', verify: 'timestamped-hmac', secret: S, action: task('linq {body.event_type}') },
      { name: 'talk', verify: 'nextcloud-talk', secret: S, action: task('talk') },
    ],
  });
});
afterAll(() => g?.stop());

const moatHeaders = (b: string, t = nowS(), secret = S) => ({
  'content-type': 'application/json',
  'moat-signature': `t=${t},v2=${hmacHex(secret, `${t}.`, b)}`,
});

describe('a captured delivery replayed within the window, its delivery id header changed or dropped', () => {
  it('moat: the job id in the signed body is the delivery id, so another Moat-Job-Id (or none) is a duplicate', async () => {
    const b = JSON.stringify({ type: 'job.finished', job: { id: 'job_replay1', service: 'worker', state: 'succeeded' } });
    const h = moatHeaders(b);
    const first = await deliver(g, 'moat', b, { ...h, 'moat-job-id': 'job_replay1' });
    expect(first.status).toBe(202);
    const before = await taskIds(g);
    const extras: Array<Record<string, string>> = [
      { 'moat-job-id': 'job_other' },
      {},
      { 'idempotency-key': 'fresh-id-1' },
      { 'moat-job-id': 'job_replay1, job_x' },
    ];
    for (const extra of extras) {
      const again = await deliver(g, 'moat', b, { ...h, ...extra });
      expect(again.status, JSON.stringify(extra)).toBe(200);
      expect(again.json).toMatchObject({ accepted: false, duplicate: true, task: first.json.task });
    }
    expect(await taskIds(g)).toEqual(before);
  });

  it("moat: a webhook notification's id is its delivery id too; a body naming no job falls back to Moat-Job-Id", async () => {
    const note = JSON.stringify({ type: 'job.finished', id: 'job_note1', service: 'worker', state: 'failed' });
    expect((await deliver(g, 'moat', note, moatHeaders(note))).status).toBe(202);
    expect((await deliver(g, 'moat', note, { ...moatHeaders(note), 'moat-job-id': 'job_zzz' })).status).toBe(200);
    const bare = JSON.stringify({ hello: 'world' });
    expect((await deliver(g, 'moat', bare, { ...moatHeaders(bare), 'moat-job-id': 'job_bare1' })).status).toBe(202);
    expect((await deliver(g, 'moat', bare, { ...moatHeaders(bare), 'moat-job-id': 'job_bare1' })).status).toBe(200);
  });

  it('stripe: an Idempotency-Key added to a replay does not beat the event id of the signed body', async () => {
    const b = JSON.stringify({ id: 'evt_replay1', type: 'charge.succeeded' });
    const t = nowS();
    const h = { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${hmacHex(S, `${t}.`, b)}` };
    expect((await deliver(g, 'stripe', b, h)).status).toBe(202);
    const again = await deliver(g, 'stripe', b, { ...h, 'idempotency-key': 'another-id' });
    expect(again.status).toBe(200);
    expect(again.json.duplicate).toBe(true);
  });

  it('timestamped-hmac: the event_id of the signed body beats a new Idempotency-Key', async () => {
    const b = JSON.stringify({ event_id: 'evt_linq_replay', event_type: 'message.received' });
    const t = nowS();
    const h = { 'content-type': 'application/json', 'x-webhook-timestamp': String(t), 'x-webhook-signature': hmacHex(S, `${t}.`, b) };
    expect((await deliver(g, 'linq', b, h)).status).toBe(202);
    expect((await deliver(g, 'linq', b, { ...h, 'idempotency-key': 'new-one' })).status).toBe(200);
  });

  it('standard-webhooks: the webhook-id is signed, so a replay under another id does not verify', async () => {
    const wh = new Webhook(SW);
    const b = JSON.stringify({ id: 'pred_1', status: 'succeeded' });
    const at = new Date();
    const sig = wh.sign('msg_replay1', at, b);
    const h = {
      'content-type': 'application/json',
      'webhook-id': 'msg_replay1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': sig,
    };
    expect((await deliver(g, 'gpu', b, h)).status).toBe(202);
    expect((await deliver(g, 'gpu', b, h)).status).toBe(200);
    const other = await deliver(g, 'gpu', b, { ...h, 'webhook-id': 'msg_replay2' });
    expect(other.status).toBe(401);
  });
});

/** A raw POST /hooks/<name> with exactly these header lines (repeats kept). */
function rawDelivery(name: string, body: string, lines: string[]): Promise<{ status: number; body: string }> {
  const head = [
    `POST /hooks/${name} HTTP/1.1`,
    `Host: 127.0.0.1:${g.gw.port}`,
    'Connection: close',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...lines,
  ].join('\r\n');
  return rawRequest(g.gw.port, `${head}\r\n\r\n${body}`);
}

describe('signature headers sent twice, respelled or over other bytes', () => {
  const body = JSON.stringify({ ref: 'refs/heads/dup' });
  const sig = hmacHex(S, body);
  const t = nowS();
  const slackBody = 'text=deploy';
  const slackSig = `v0=${hmacHex(S, `v0:${t}:`, slackBody)}`;
  const moatBody = JSON.stringify({ type: 'job.finished', job: { id: 'job_dup1' } });
  const moatSig = `t=${t},v2=${hmacHex(S, `${t}.`, moatBody)}`;
  const stale = t - 400;
  const moatStale = `t=${stale},v2=${hmacHex(S, `${stale}.`, moatBody)}`;
  const cases: Array<[string, string, string, string[]]> = [
    [
      'github: the valid signature twice',
      'gh',
      body,
      ['Content-Type: application/json', `X-Hub-Signature-256: sha256=${sig}`, `X-Hub-Signature-256: sha256=${sig}`],
    ],
    [
      'github: a forged signature, then the valid one',
      'gh',
      body,
      ['Content-Type: application/json', `X-Hub-Signature-256: sha256=${'0'.repeat(64)}`, `X-Hub-Signature-256: sha256=${sig}`],
    ],
    [
      'github: both spellings of the header name',
      'gh',
      body,
      ['Content-Type: application/json', `x-hub-signature-256: sha256=${sig}`, `X-HUB-SIGNATURE-256: sha256=${sig}`],
    ],
    ['github: an empty signature header', 'gh', body, ['Content-Type: application/json', 'X-Hub-Signature-256: ']],
    [
      'github: HMAC-SHA1 under sha1=',
      'gh',
      body,
      ['Content-Type: application/json', `X-Hub-Signature-256: sha1=${createHmac('sha1', S).update(body).digest('hex')}`],
    ],
    ['github: the signature under the legacy X-Hub-Signature header', 'gh', body, ['Content-Type: application/json', `X-Hub-Signature: sha256=${sig}`]],
    ['github: a UTF-8 BOM before the signed body', 'gh', `\uFEFF${body}`, ['Content-Type: application/json', `X-Hub-Signature-256: sha256=${sig}`]],
    ['github: the body with a trailing newline', 'gh', `${body}\n`, ['Content-Type: application/json', `X-Hub-Signature-256: sha256=${sig}`]],
    [
      'github: base64 of the HMAC instead of hex',
      'gh',
      body,
      ['Content-Type: application/json', `X-Hub-Signature-256: sha256=${createHmac('sha256', S).update(body).digest('base64')}`],
    ],
    [
      'slack: the timestamp twice',
      'slack',
      slackBody,
      [
        'Content-Type: application/x-www-form-urlencoded',
        `X-Slack-Request-Timestamp: ${t}`,
        `X-Slack-Request-Timestamp: ${t}`,
        `X-Slack-Signature: ${slackSig}`,
      ],
    ],
    [
      'slack: a signature version other than v0',
      'slack',
      slackBody,
      ['Content-Type: application/x-www-form-urlencoded', `X-Slack-Request-Timestamp: ${t}`, `X-Slack-Signature: ${slackSig.replace('v0=', 'v1=')}`],
    ],
    [
      'slack: the timestamp in milliseconds',
      'slack',
      slackBody,
      [
        'Content-Type: application/x-www-form-urlencoded',
        `X-Slack-Request-Timestamp: ${t}000`,
        `X-Slack-Signature: v0=${hmacHex(S, `v0:${t}000:`, slackBody)}`,
      ],
    ],
    [
      'moat: a stale signature and a fresh t in a second header',
      'moat',
      moatBody,
      ['Content-Type: application/json', `Moat-Signature: ${moatStale}`, `Moat-Signature: t=${t}`],
    ],
    ['moat: the valid signature twice', 'moat', moatBody, ['Content-Type: application/json', `Moat-Signature: ${moatSig}`, `Moat-Signature: ${moatSig}`]],
    ['moat: two t= in one header (stale first)', 'moat', moatBody, ['Content-Type: application/json', `Moat-Signature: t=${stale},${moatSig}`]],
    [
      'talk: the random twice',
      'talk',
      '{}',
      [
        'Content-Type: application/json',
        'X-Nextcloud-Talk-Random: aaaaaaaaaaaaaaaaaaaa',
        'X-Nextcloud-Talk-Random: aaaaaaaaaaaaaaaaaaaa',
        `X-Nextcloud-Talk-Signature: ${hmacHex(S, 'aaaaaaaaaaaaaaaaaaaa, aaaaaaaaaaaaaaaaaaaa', '{}')}`,
      ],
    ],
  ];

  it.each(cases)('%s: 401 signature_invalid, nothing created, audited', async (_label, name, sent, lines) => {
    const before = await taskIds(g);
    const res = await rawDelivery(name, sent, lines);
    expect(res.status, res.body).toBe(401);
    expect(JSON.parse(res.body).code).toBe('signature_invalid');
    expect(await taskIds(g)).toEqual(before);
    const requestId = JSON.parse(res.body).requestId as string;
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === requestId);
    expect(entry).toMatchObject({ outcome: 'denied', code: 'signature_invalid', detail: { hook: name } });
  });

  it('the genuine delivery goes through after all of them (nothing was burned)', async () => {
    const res = await rawDelivery('gh', body, ['Content-Type: application/json', `X-Hub-Signature-256: sha256=${sig}`]);
    expect(res.status).toBe(202);
  });
});

describe("one principal's signed job callback delivered to a `moat` hook", () => {
  // The finding (fixed): every callback of the install was signed with one secret, whoever submitted
  // the job and wherever it went, and a `moat` hook was configured with that secret. So any token
  // with scope `jobs` could have a validly signed `job.finished` sent to a server it controls (a
  // callbackUrl of its own), with a result it chose (a worker that echoes its payload), and post it
  // to the hook within 5 minutes. Now each callback is signed with the key of its receiver (derived
  // from the install secret and the callback URL), and the hook holds the key of its own URL.
  it('the hook refuses a callback that was signed for another receiver', async () => {
    const hookUrl = `${g.url}/hooks/from-moat`;
    const secret = (await g.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent(hookUrl)}`)).json.secret as string;
    const reg = await g.fetch('/api/v1/hooks', {
      method: 'POST',
      body: { name: 'from-moat', verify: 'moat', secret, action: task('result {body.job.result.echo.say}') },
    });
    expect(reg.status, reg.text).toBe(201);
    const captured: Array<{ body: string; signature: string }> = [];
    const server = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        captured.push({ body: b, signature: String(req.headers['moat-signature']) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const mallory = await tokenWith(g, ['jobs']);
      const port = (server.address() as AddressInfo).port;
      const sub = await g.fetch('/api/v1/jobs', {
        method: 'POST',
        auth: mallory,
        body: { service: 'worker', payload: { steps: 1, stepMs: 1, say: 'deploy to prod' }, callbackUrl: `http://127.0.0.1:${port}/mine` },
      });
      expect(sub.status, sub.text).toBe(202);
      const cb = await waitFor(() => captured[0] ?? null, 'the callback');
      const before = await taskIds(g);
      const res = await deliver(g, 'from-moat', cb.body, { 'content-type': 'application/json', 'moat-signature': cb.signature });
      expect(res.status).toBe(401);
      expect(await taskIds(g)).toEqual(before);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
