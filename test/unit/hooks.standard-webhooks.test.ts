/**
 * The Standard Webhooks scheme against the specification's published example and against the
 * `standardwebhooks` npm package (the reference TypeScript library, a devDependency used as an
 * oracle here only): what it signs verifies here, what is signed here verifies there, and a table
 * of tampered, stale, mis-versioned and malformed deliveries is refused as the library refuses it.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signDelivery } from '../../src/client/hook-signing.js';
import { verifyDelivery, type Headers } from '../../src/domain/hooks/verify/index.js';

const buf = (s: string) => Buffer.from(s, 'utf8');
const verify = (secret: string, body: string, headers: Headers, now: number) => verifyDelivery('standard-webhooks', buf(secret), buf(body), headers, now);

// The specification's example (standard-webhooks, spec/standard-webhooks.md, "Verifying webhooks").
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const specHeaders = { 'webhook-id': SPEC.id, 'webhook-timestamp': String(SPEC.timestamp), 'webhook-signature': SPEC.signature };

describe('the published example', () => {
  it('verifies at its own time, and the reference library agrees', () => {
    expect(verify(SPEC.secret, SPEC.body, specHeaders, SPEC.timestamp)).toBe('ok');
    expect(new Webhook(SPEC.secret).sign(SPEC.id, new Date(SPEC.timestamp * 1000), SPEC.body)).toBe(SPEC.signature);
  });

  it('verifies with the secret written without its whsec_ prefix (the library reads it as base64 too)', () => {
    expect(verify(SPEC.secret.slice('whsec_'.length), SPEC.body, specHeaders, SPEC.timestamp)).toBe('ok');
  });
});

describe('against the reference library', () => {
  it('verifies 50 deliveries the library signs, with random keys, ids and bodies', () => {
    for (let i = 0; i < 50; i++) {
      const secret = `whsec_${randomBytes(24 + (i % 9)).toString('base64')}`;
      const id = `msg_${randomBytes(8).toString('hex')}`;
      const now = 1_800_000_000 + i;
      const body = JSON.stringify({ i, text: randomBytes(i).toString('base64'), emoji: '🙂' });
      const signature = new Webhook(secret).sign(id, new Date(now * 1000), body);
      expect(verify(secret, body, { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': signature }, now)).toBe('ok');
    }
  });

  it('signs (moat hook test) what the library verifies', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const now = Math.floor(Date.now() / 1000);
    const body = '{"status":"succeeded","output":["https://example.com/out.png"]}';
    const headers = signDelivery('standard-webhooks', secret, body, now, 'msg_cli_1');
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(verify(secret, body, headers, now)).toBe('ok');
  });
});

describe('hostile deliveries', () => {
  const now = SPEC.timestamp;
  const h = (over: Record<string, string | string[] | undefined>): Headers => {
    const out: Record<string, string | string[] | undefined> = { ...specHeaders, ...over };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  };
  const sigFor = (id: string, ts: number, body: string, secret = SPEC.secret) => new Webhook(secret).sign(id, new Date(ts * 1000), body);
  const other = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const rows: Array<[string, Headers, string, number, string]> = [
    ['a tampered body', h({}), `${SPEC.body} `, now, 'mismatch'],
    ['another message id', h({ 'webhook-id': 'msg_other' }), SPEC.body, now, 'mismatch'],
    ['another timestamp in the window', h({ 'webhook-timestamp': String(now + 1) }), SPEC.body, now, 'mismatch'],
    ['signed with another secret', h({ 'webhook-signature': sigFor(SPEC.id, now, SPEC.body, other) }), SPEC.body, now, 'mismatch'],
    ['a v2 signature only', h({ 'webhook-signature': SPEC.signature.replace('v1,', 'v2,') }), SPEC.body, now, 'mismatch'],
    ['a v1a (asymmetric) signature only', h({ 'webhook-signature': SPEC.signature.replace('v1,', 'v1a,') }), SPEC.body, now, 'mismatch'],
    ['the signature without its version', h({ 'webhook-signature': SPEC.signature.slice(3) }), SPEC.body, now, 'mismatch'],
    ['a truncated signature', h({ 'webhook-signature': SPEC.signature.slice(0, -4) }), SPEC.body, now, 'mismatch'],
    ['a hex signature', h({ 'webhook-signature': `v1,${Buffer.from(SPEC.signature.slice(3), 'base64').toString('hex')}` }), SPEC.body, now, 'mismatch'],
    ['5 minutes and 1 second old', h({}), SPEC.body, now + 301, 'stale'],
    ['5 minutes and 1 second in the future', h({}), SPEC.body, now - 301, 'stale'],
    ['a timestamp in milliseconds', h({ 'webhook-timestamp': String(now * 1000) }), SPEC.body, now, 'malformed'],
    ['a timestamp with a fraction', h({ 'webhook-timestamp': `${now}.5` }), SPEC.body, now, 'malformed'],
    ['a negative timestamp', h({ 'webhook-timestamp': `-${now}` }), SPEC.body, now, 'malformed'],
    ['an id with a dot-separated forgery', h({ 'webhook-id': `${SPEC.id} x` }), SPEC.body, now, 'malformed'],
    ['no webhook-id', h({ 'webhook-id': undefined }), SPEC.body, now, 'missing_header'],
    ['no webhook-timestamp', h({ 'webhook-timestamp': undefined }), SPEC.body, now, 'missing_header'],
    ['no webhook-signature', h({ 'webhook-signature': undefined }), SPEC.body, now, 'missing_header'],
    ['an empty signature list', h({ 'webhook-signature': '   ' }), SPEC.body, now, 'malformed'],
    ['webhook-signature sent twice', h({ 'webhook-signature': [SPEC.signature, SPEC.signature] }), SPEC.body, now, 'malformed'],
    ['webhook-id sent twice', h({ 'webhook-id': [SPEC.id, 'msg_x'] }), SPEC.body, now, 'malformed'],
    ['seventeen signatures', h({ 'webhook-signature': Array(17).fill(SPEC.signature).join(' ') }), SPEC.body, now, 'malformed'],
  ];
  it.each(rows)('refuses %s (%#)', (_name, headers, body, at, expected) => {
    expect(verify(SPEC.secret, body, headers, at)).toBe(expected);
    // The reference library refuses it too.
    expect(() =>
      new Webhook(SPEC.secret).verify(body, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v as string)]))),
    ).toThrow();
  });

  it('accepts a list where one of several signatures matches (a secret rotation), as the library does', () => {
    const t = Math.floor(Date.now() / 1000);
    const good = sigFor(SPEC.id, t, SPEC.body);
    const list = `v1,${Buffer.alloc(32).toString('base64')} v2,abc ${good}`;
    const headers = { ...specHeaders, 'webhook-timestamp': String(t), 'webhook-signature': list };
    expect(verify(SPEC.secret, SPEC.body, headers, t)).toBe('ok');
    expect(new Webhook(SPEC.secret).verify(SPEC.body, headers)).toEqual(JSON.parse(SPEC.body));
  });

  it('treats a secret that is not base64 as no secret at all (the registry refuses it earlier)', () => {
    expect(verify('whsec_not base64!', SPEC.body, specHeaders, now)).toBe('no_secret');
  });
});
