/**
 * The timestamped HMAC scheme (Linq, as the RantAIClaw gateway verifies it): HMAC-SHA256 over
 * "<X-Webhook-Timestamp>.<raw body>" in X-Webhook-Signature, hex in either case with an optional
 * `sha256=` prefix, 300 s either way; a table of what that reference accepts and refuses.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCHEMES, verifyDelivery, type Headers } from '../../src/domain/hooks/verify/index.js';

const SECRET = 'linq-signing-secret-0123456789';
const NOW = 1_800_000_000;
const BODY = JSON.stringify({
  api_version: 'v3',
  event_type: 'message.received',
  event_id: 'evt_01HZX',
  data: { from: '+15551234567', message: { parts: [{ type: 'text', value: 'héllo 🙂' }] } },
});
const sig = (ts: number | string, body = BODY, secret = SECRET) => createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
const verify = (headers: Headers, body = BODY, now = NOW) => verifyDelivery('timestamped-hmac', Buffer.from(SECRET), Buffer.from(body), headers, now);
const ok = { 'x-webhook-timestamp': String(NOW), 'x-webhook-signature': sig(NOW) };

describe('what the reference accepts', () => {
  it.each([
    ['lowercase hex', ok],
    ['uppercase hex (the reference hex-decodes)', { ...ok, 'x-webhook-signature': sig(NOW).toUpperCase() }],
    ['a sha256= prefix', { ...ok, 'x-webhook-signature': `sha256=${sig(NOW)}` }],
    ['blanks around the value (the reference trims it)', { ...ok, 'x-webhook-signature': ` ${sig(NOW)} ` }],
    ['a timestamp 300 s old', { 'x-webhook-timestamp': String(NOW - 300), 'x-webhook-signature': sig(NOW - 300) }],
    ['a timestamp 300 s ahead', { 'x-webhook-timestamp': String(NOW + 300), 'x-webhook-signature': sig(NOW + 300) }],
  ])('accepts %s', (_name, headers) => {
    expect(verify(headers)).toBe('ok');
  });
});

describe('what it refuses', () => {
  const rows: Array<[string, Headers, string, number, string]> = [
    ['a tampered body', ok, `${BODY} `, NOW, 'mismatch'],
    ['another secret', { ...ok, 'x-webhook-signature': sig(NOW, BODY, 'another-secret-0123456789') }, BODY, NOW, 'mismatch'],
    ['a signature over the body alone', { ...ok, 'x-webhook-signature': createHmac('sha256', SECRET).update(BODY).digest('hex') }, BODY, NOW, 'mismatch'],
    ['a signature for another timestamp', { ...ok, 'x-webhook-signature': sig(NOW - 1) }, BODY, NOW, 'mismatch'],
    ['301 s old', { 'x-webhook-timestamp': String(NOW - 301), 'x-webhook-signature': sig(NOW - 301) }, BODY, NOW, 'stale'],
    ['301 s ahead', { 'x-webhook-timestamp': String(NOW + 301), 'x-webhook-signature': sig(NOW + 301) }, BODY, NOW, 'stale'],
    ['a timestamp in milliseconds', { 'x-webhook-timestamp': String(NOW * 1000), 'x-webhook-signature': sig(NOW * 1000) }, BODY, NOW, 'malformed'],
    [
      'an ISO timestamp',
      { 'x-webhook-timestamp': new Date(NOW * 1000).toISOString(), 'x-webhook-signature': sig(new Date(NOW * 1000).toISOString()) },
      BODY,
      NOW,
      'malformed',
    ],
    ['a truncated signature', { ...ok, 'x-webhook-signature': sig(NOW).slice(0, 62) }, BODY, NOW, 'malformed'],
    ['an overlong signature', { ...ok, 'x-webhook-signature': `${sig(NOW)}00` }, BODY, NOW, 'malformed'],
    ['base64 instead of hex', { ...ok, 'x-webhook-signature': Buffer.from(sig(NOW), 'hex').toString('base64') }, BODY, NOW, 'malformed'],
    ['an uppercase SHA256= prefix', { ...ok, 'x-webhook-signature': `SHA256=${sig(NOW)}` }, BODY, NOW, 'malformed'],
    ['a v1= prefix', { ...ok, 'x-webhook-signature': `v1=${sig(NOW)}` }, BODY, NOW, 'malformed'],
    ['two signature headers', { ...ok, 'x-webhook-signature': [sig(NOW), sig(NOW)] }, BODY, NOW, 'malformed'],
    ['no timestamp', { 'x-webhook-signature': sig(NOW) }, BODY, NOW, 'missing_header'],
    ['no signature', { 'x-webhook-timestamp': String(NOW) }, BODY, NOW, 'missing_header'],
  ];
  it.each(rows)('refuses %s', (_name, headers, body, now, expected) => {
    expect(verify(headers, body, now)).toBe(expected);
  });

  it('takes the envelope event_id as the delivery id', () => {
    expect(SCHEMES['timestamped-hmac'].deliveryIdFromBody?.(JSON.parse(BODY))).toBe('evt_01HZX');
    expect(SCHEMES['timestamped-hmac'].deliveryIdFromBody?.({ event_id: 'bad id with spaces' })).toBeUndefined();
  });
});
