/**
 * The other schemes through a real gateway with an injected clock: Slack (form bodies, the
 * 5-minute window), Nextcloud Talk (a replayed random is refused), Stripe (event id dedup, any v1),
 * moat's own Moat-Signature, a plain shared secret, the WhatsApp handshake; and the raw-body rules
 * every scheme shares: per-hook body caps before reading, a body that verifies but does not parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { Webhook } from 'standardwebhooks';
import { audited, deliver, hmacHex, taskIds } from '../helpers/hooks.js';

const S = 'scheme-secret-0123456789';
const SW = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let g: TestGateway;
let offsetMs = 0;
const nowS = () => Math.floor((Date.now() + offsetMs) / 1000);
const task = (title: string) => ({ type: 'task', title });

beforeAll(async () => {
  g = await startGateway(
    {
      rateLimit: { enabled: false },
      hooks: [
        { name: 'slack', verify: 'slack', secret: S, action: task('slack {body.command} {body.text} by {body.user_name}') },
        { name: 'talk', verify: 'nextcloud-talk', secret: S, action: task('talk: {body.object.content}') },
        { name: 'stripe', verify: 'stripe', secret: S, action: task('stripe {body.type}') },
        { name: 'moat', verify: 'moat', secret: S, action: task('moat job {body.id} {body.state}') },
        { name: 'plain', verify: 'secret', secret: S, action: task('plain {query.who}') },
        { name: 'wa', verify: 'whatsapp', secret: S, verifyToken: 'wa-verify-token-0123456', action: task('wa {body.entry.0.id}') },
        { name: 'small', verify: 'secret', secret: S, maxBodyBytes: 1024, action: task('small') },
        { name: 'gpu', verify: 'standard-webhooks', secret: SW, action: task('prediction {body.id} {body.status}') },
        { name: 'linq', verify: 'timestamped-hmac', secret: S, action: task('linq {body.event_type}') },
      ],
    },
    { now: () => Date.now() + offsetMs },
  );
});
afterAll(() => g?.stop());

async function titleOf(id: string): Promise<string> {
  return (await g.fetch(`/api/v1/tasks/${id}`)).json.title as string;
}

describe('slack', () => {
  const body = 'token=x&team_id=T1&command=%2Fdeploy&text=prod+now&user_name=roadrunner';
  const headers = (ts: number, b = body) => ({
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${hmacHex(S, `v0:${ts}:`, b)}`,
  });

  it('a signed form body is verified over its bytes, then parsed as a form', async () => {
    const res = await deliver(g, 'slack', body, headers(nowS()));
    expect(res.status).toBe(202);
    expect(await titleOf(res.json.task)).toBe('slack /deploy prod now by roadrunner');
  });

  it('the same request replayed 6 minutes later (injected clock) is 401, stale', async () => {
    const ts = nowS();
    expect((await deliver(g, 'slack', body, headers(ts))).status).toBe(202);
    offsetMs += 6 * 60_000;
    try {
      const res = await deliver(g, 'slack', body, headers(ts));
      expect(res.status).toBe(401);
      const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.headers['x-request-id']);
      expect(entry?.detail.reason).toBe('stale');
    } finally {
      offsetMs = 0;
    }
  });

  it('a timestamp from the future beyond the window is refused too', async () => {
    expect((await deliver(g, 'slack', body, headers(nowS() + 301))).status).toBe(401);
  });
});

describe('nextcloud-talk', () => {
  const body = JSON.stringify({ type: 'Create', object: { content: 'hello bot' } });
  const headers = (random: string) => ({
    'content-type': 'application/json',
    'x-nextcloud-talk-random': random,
    'x-nextcloud-talk-signature': hmacHex(S, random, body),
  });

  it('verifies HMAC(random + body) and refuses the same random a second time (401, reason replayed)', async () => {
    const random = 'a1'.repeat(32);
    const first = await deliver(g, 'talk', body, headers(random));
    expect(first.status).toBe(202);
    expect(await titleOf(first.json.task)).toBe('talk: hello bot');
    const before = await taskIds(g);
    const replay = await deliver(g, 'talk', body, headers(random));
    expect(replay.status).toBe(401);
    expect(replay.json.code).toBe('signature_invalid');
    expect(await taskIds(g)).toEqual(before);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === replay.headers['x-request-id']);
    expect(entry).toMatchObject({ outcome: 'denied', detail: { reason: 'replayed' } });
    expect((await deliver(g, 'talk', body, headers('b2'.repeat(32)))).status).toBe(202);
  });

  it('a forged signature does not burn the random: the genuine delivery with it still goes through', async () => {
    const random = 'c3'.repeat(32);
    expect((await deliver(g, 'talk', body, { ...headers(random), 'x-nextcloud-talk-signature': '0'.repeat(64) })).status).toBe(401);
    expect((await deliver(g, 'talk', body, headers(random))).status).toBe(202);
  });
});

describe('stripe', () => {
  const event = (id: string) => JSON.stringify({ id, object: 'event', type: 'invoice.paid' });
  const sign = (b: string, t = nowS(), extra = '') => ({
    'content-type': 'application/json',
    'stripe-signature': `t=${t},v1=${hmacHex(S, `${t}.`, b)}${extra}`,
  });

  it('accepts any listed v1 and deduplicates by the event id of the verified body', async () => {
    const b = event('evt_1TestDedup');
    const t = nowS();
    const first = await deliver(g, 'stripe', b, {
      'content-type': 'application/json',
      'stripe-signature': `t=${t},v1=${hmacHex('rolled-old-secret-000', `${t}.`, b)},v1=${hmacHex(S, `${t}.`, b)}`,
    });
    expect(first.status).toBe(202);
    expect(await titleOf(first.json.task)).toBe('stripe invoice.paid');
    const again = await deliver(g, 'stripe', b, sign(b));
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, task: first.json.task });
  });

  it('a stale signature is 401', async () => {
    const b = event('evt_1TestStale');
    expect((await deliver(g, 'stripe', b, sign(b, nowS() - 301))).status).toBe(401);
  });
});

describe('moat', () => {
  it("verifies Moat-Signature v2 (moat's callback scheme; the secret is the receiver key) and deduplicates by the job id", async () => {
    const b = JSON.stringify({ id: 'job_abc', state: 'succeeded' });
    const t = nowS();
    const headers = { 'content-type': 'application/json', 'moat-signature': `t=${t},v2=${hmacHex(S, `${t}.`, b)}`, 'moat-job-id': 'job_abc' };
    const first = await deliver(g, 'moat', b, headers);
    expect(first.status).toBe(202);
    expect(await titleOf(first.json.task)).toBe('moat job job_abc succeeded');
    expect((await deliver(g, 'moat', b, headers)).json.duplicate).toBe(true);
    expect((await deliver(g, 'moat', b, { ...headers, 'moat-signature': `t=${t - 400},v2=${hmacHex(S, `${t - 400}.`, b)}` })).status).toBe(401);
  });

  it('refuses the old v1 form by default (401, audited reason legacy_v1), even with the right secret', async () => {
    const b = JSON.stringify({ id: 'job_v1only', state: 'succeeded' });
    const t = nowS();
    const res = await deliver(g, 'moat', b, { 'content-type': 'application/json', 'moat-signature': `t=${t},v1=${hmacHex(S, `${t}.`, b)}` });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('signature_invalid');
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.json.requestId);
    expect(entry).toMatchObject({ outcome: 'denied', detail: { hook: 'moat', scheme: 'moat', reason: 'legacy_v1' } });
  });
});

describe('secret', () => {
  it('compares X-Webhook-Secret, takes Idempotency-Key (or X-Idempotency-Key) as the delivery id, fills from the query', async () => {
    const b = '{}';
    const first = await g.fetch('/hooks/plain?who=hass', {
      method: 'POST',
      auth: false,
      raw: b,
      headers: { 'content-type': 'application/json', 'x-webhook-secret': S, 'x-idempotency-key': 'k-1' },
    });
    expect(first.status).toBe(202);
    expect(await titleOf(first.json.task)).toBe('plain hass');
    const dup = await deliver(g, 'plain', b, { 'content-type': 'application/json', 'x-webhook-secret': S, 'x-idempotency-key': 'k-1' });
    expect(dup.json).toMatchObject({ duplicate: true, task: first.json.task });
    expect((await deliver(g, 'plain', b, { 'content-type': 'application/json', 'x-webhook-secret': `${S}x` })).status).toBe(401);
    expect((await deliver(g, 'plain', b, { 'content-type': 'application/json', authorization: `Bearer ${g.token}` })).status).toBe(401);
  });
});

describe('whatsapp', () => {
  it('answers the subscription handshake with the challenge as plain text when the verify token matches', async () => {
    const res = await g.fetch('/hooks/wa?hub.mode=subscribe&hub.verify_token=wa-verify-token-0123456&hub.challenge=1158201444', { auth: false });
    expect(res.status).toBe(200);
    expect(res.text).toBe('1158201444');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses a wrong verify token with 403 verify_token_invalid, audited', async () => {
    const res = await g.fetch('/hooks/wa?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444', { auth: false });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('verify_token_invalid');
    expect(res.text).not.toContain('1158201444');
    const entry = (await audited(g, 'hook.handshake')).find((e) => e.requestId === res.headers['x-request-id']);
    expect(entry).toMatchObject({ outcome: 'denied', detail: { hook: 'wa', reason: 'mismatch' } });
  });

  it('has no handshake for a hook of another scheme', async () => {
    expect((await g.fetch('/hooks/slack?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1', { auth: false })).status).toBe(404);
  });

  it('verifies a delivery with the app secret (X-Hub-Signature-256)', async () => {
    const b = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398' }] });
    const res = await deliver(g, 'wa', b, { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hmacHex(S, b)}` });
    expect(res.status).toBe(202);
    expect(await titleOf(res.json.task)).toBe('wa 102290129340398');
  });
});

describe('raw bodies', () => {
  it("a Content-Length over the hook's cap is refused with 413 before the body is read (and audited)", async () => {
    const res = await deliver(g, 'small', 'x'.repeat(1025), { 'content-type': 'application/json', 'x-webhook-secret': S });
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('body_too_large');
    expect((await audited(g, 'limit.body')).some((e) => e.requestId === res.headers['x-request-id'])).toBe(true);
  });

  it('a chunked body that grows over the cap is cut off with 413', async () => {
    const { Readable } = await import('node:stream');
    const { request } = await import('undici');
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(256, 0x61));
    const res = await request(`${g.url}/hooks/small`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': S },
      body: Readable.from(chunks),
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
  });

  it('a body under the cap goes through', async () => {
    expect((await deliver(g, 'small', JSON.stringify({ pad: 'x'.repeat(900) }), { 'content-type': 'application/json', 'x-webhook-secret': S })).status).toBe(
      202,
    );
  });

  it('a body that verifies but is not JSON is 400 json_invalid and creates nothing (audited as error)', async () => {
    const before = await taskIds(g);
    const res = await deliver(g, 'plain', '{"unterminated', { 'content-type': 'application/json', 'x-webhook-secret': S });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('json_invalid');
    expect(await taskIds(g)).toEqual(before);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.headers['x-request-id']);
    expect(entry).toMatchObject({ outcome: 'error', code: 'json_invalid' });
  });

  it('a verified body of another media type is 415', async () => {
    expect((await deliver(g, 'plain', '<xml/>', { 'content-type': 'application/xml', 'x-webhook-secret': S })).status).toBe(415);
  });

  it('an empty body is fine (an empty object to the template)', async () => {
    expect((await deliver(g, 'plain', '', { 'x-webhook-secret': S })).status).toBe(202);
  });

  it('other routes keep their JSON parser (a form body on a JSON route is 415)', async () => {
    const res = await g.fetch('/api/v1/tasks', { method: 'POST', raw: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
  });
});

describe('standard-webhooks (Replicate-style prediction callbacks)', () => {
  const body = JSON.stringify({ id: 'pred_abc123', status: 'succeeded', output: ['https://example.com/out.png'] });
  const headers = (id: string, ts: number, b = body) => ({
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': new Webhook(SW).sign(id, new Date(ts * 1000), b),
  });

  it('verifies a delivery signed by the reference library, and a redelivery of the same webhook-id is a duplicate', async () => {
    const h = headers('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', nowS());
    const first = await deliver(g, 'gpu', body, h);
    expect(first.status).toBe(202);
    expect(await titleOf(first.json.task)).toBe('prediction pred_abc123 succeeded');
    const again = await deliver(g, 'gpu', body, h);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, task: first.json.task });
  });

  it('refuses a tampered body, a stale timestamp and a signature of another id with 401 signature_invalid', async () => {
    const ts = nowS();
    const good = headers('msg_tamper', ts);
    for (const [b, h] of [
      [body.replace('succeeded', 'failed'), good],
      [body, headers('msg_stale', ts - 301)],
      [body, { ...good, 'webhook-id': 'msg_other' }],
    ] as const) {
      const res = await deliver(g, 'gpu', b, h);
      expect(res.status).toBe(401);
      expect(res.json.code).toBe('signature_invalid');
    }
  });

  it('refuses at boot a standard-webhooks secret that is not base64', async () => {
    await expect(
      startGateway({ hooks: [{ name: 'bad', verify: 'standard-webhooks', secret: 'whsec_this is not base64!', action: task('x') }] }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
  });
});

describe('timestamped-hmac (Linq)', () => {
  const body = JSON.stringify({ api_version: 'v3', event_type: 'message.received', event_id: 'evt_linq_1', data: { from: '+15551234567' } });
  const headers = (ts: number, b = body) => ({
    'content-type': 'application/json',
    'x-webhook-event': 'message.received',
    'x-webhook-timestamp': String(ts),
    'x-webhook-signature': hmacHex(S, `${ts}.`, b),
  });

  it('verifies a delivery, and a redelivery of the same event_id is a duplicate', async () => {
    const ts = nowS();
    const first = await deliver(g, 'linq', body, headers(ts));
    expect(first.status).toBe(202);
    expect(await titleOf(first.json.task)).toBe('linq message.received');
    const again = await deliver(g, 'linq', body, headers(ts + 1));
    expect(again.json).toMatchObject({ duplicate: true, task: first.json.task });
  });

  it('refuses a tampered body and a stale timestamp with 401 signature_invalid', async () => {
    const ts = nowS();
    expect((await deliver(g, 'linq', body.replace('v3', 'v4'), headers(ts, body))).status).toBe(401);
    expect((await deliver(g, 'linq', body, headers(ts - 301))).status).toBe(401);
  });
});
