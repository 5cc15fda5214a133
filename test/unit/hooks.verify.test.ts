/**
 * The signature schemes of inbound hooks, from the attacker's side: published test vectors where
 * the sender documents one (GitHub, Slack), then every way to get it wrong: wrong secret, tampered
 * body, a signature over re-serialised JSON instead of the bytes sent, uppercase prefix, truncated
 * or overlong hex, missing or doubled headers, stale timestamps, no secret configured.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VERIFY_SCHEMES } from '../../src/api/hooks.js';
import { sampleBody, signDelivery } from '../../src/client/hook-signing.js';
import { SCHEMES, verifyDelivery, whatsappHandshake, type Headers } from '../../src/domain/hooks/verify/index.js';

const hex = (secret: string, ...parts: string[]) => {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const buf = (s: string) => Buffer.from(s, 'utf8');
const key = (s: string) => Buffer.from(s, 'utf8');

// GitHub, "Validating webhook deliveries": the documented secret, payload and signature.
const GH_SECRET = "It's a Secret to Everybody";
const GH_BODY = 'Hello, World!';
const GH_SIG = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

// Slack, "Verifying requests from Slack": the documented signing secret, timestamp, body and signature.
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TS = 1531420618;
const SLACK_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SLACK_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe('published test vectors', () => {
  it("GitHub's documented example verifies (and computes to the documented signature)", () => {
    expect(`sha256=${hex(GH_SECRET, GH_BODY)}`).toBe(GH_SIG);
    expect(verifyDelivery('github', key(GH_SECRET), buf(GH_BODY), { 'x-hub-signature-256': GH_SIG }, 0)).toBe('ok');
  });

  it("Slack's documented example verifies at its timestamp (and computes to the documented signature)", () => {
    expect(`v0=${hex(SLACK_SECRET, `v0:${SLACK_TS}:`, SLACK_BODY)}`).toBe(SLACK_SIG);
    const headers = { 'x-slack-request-timestamp': String(SLACK_TS), 'x-slack-signature': SLACK_SIG };
    expect(verifyDelivery('slack', key(SLACK_SECRET), buf(SLACK_BODY), headers, SLACK_TS + 1)).toBe('ok');
  });

  it('a one-word change to the Slack body (command=%2Fwebbot) no longer verifies', () => {
    const headers = { 'x-slack-request-timestamp': String(SLACK_TS), 'x-slack-signature': SLACK_SIG };
    expect(verifyDelivery('slack', key(SLACK_SECRET), buf(SLACK_BODY.replace('%2Fwebhook-collect', '%2Fwebbot')), headers, SLACK_TS)).toBe('mismatch');
  });
});

const SECRET = 'a-secret-of-twenty-chars';
const NOW = 1_800_000_000;
const JSON_BODY = '{"action": "opened",  "number":7}';
const reserialised = JSON.stringify(JSON.parse(JSON_BODY));
const sigHex = hex(SECRET, JSON_BODY);

type Row = [label: string, headers: Headers, body: string, expected: string];

describe.each(['github', 'whatsapp'] as const)('%s: X-Hub-Signature-256 over the raw body', (scheme) => {
  const ok = { 'x-hub-signature-256': `sha256=${sigHex}` };
  const rows: Row[] = [
    ['the correct signature', ok, JSON_BODY, 'ok'],
    ['signed with another secret', { 'x-hub-signature-256': `sha256=${hex('another-secret-of-20', JSON_BODY)}` }, JSON_BODY, 'mismatch'],
    ['a tampered body', ok, JSON_BODY.replace('7', '8'), 'mismatch'],
    ['the body re-serialised as JSON (same data, other bytes)', ok, reserialised, 'mismatch'],
    ['a signature over the re-serialised JSON', { 'x-hub-signature-256': `sha256=${hex(SECRET, reserialised)}` }, JSON_BODY, 'mismatch'],
    ['uppercase SHA256= prefix', { 'x-hub-signature-256': `SHA256=${sigHex}` }, JSON_BODY, 'malformed'],
    ['uppercase hex', { 'x-hub-signature-256': `sha256=${sigHex.toUpperCase()}` }, JSON_BODY, 'malformed'],
    ['truncated hex', { 'x-hub-signature-256': `sha256=${sigHex.slice(0, 63)}` }, JSON_BODY, 'malformed'],
    ['overlong hex', { 'x-hub-signature-256': `sha256=${sigHex}0` }, JSON_BODY, 'malformed'],
    ['no prefix', { 'x-hub-signature-256': sigHex }, JSON_BODY, 'malformed'],
    ['the SHA-1 header only', { 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(JSON_BODY).digest('hex')}` }, JSON_BODY, 'missing_header'],
    ['a space before the hex', { 'x-hub-signature-256': `sha256= ${sigHex}` }, JSON_BODY, 'malformed'],
    ['the header twice', { 'x-hub-signature-256': [`sha256=${sigHex}`, `sha256=${sigHex}`] }, JSON_BODY, 'malformed'],
    ['two values joined', { 'x-hub-signature-256': `sha256=${sigHex}, sha256=${sigHex}` }, JSON_BODY, 'malformed'],
    ['missing header', {}, JSON_BODY, 'missing_header'],
    ['an empty body signed as empty', { 'x-hub-signature-256': `sha256=${hex(SECRET, '')}` }, '', 'ok'],
  ];
  it.each(rows)('%s -> %s', (_label, headers, body, expected) => {
    expect(verifyDelivery(scheme, key(SECRET), buf(body), headers, NOW)).toBe(expected);
  });
  it('fails closed without a secret, even with a signature made with an empty key', () => {
    expect(verifyDelivery(scheme, null, buf(JSON_BODY), { 'x-hub-signature-256': `sha256=${hex('', JSON_BODY)}` }, NOW)).toBe('no_secret');
    expect(verifyDelivery(scheme, Buffer.alloc(0), buf(JSON_BODY), { 'x-hub-signature-256': `sha256=${hex('', JSON_BODY)}` }, NOW)).toBe('no_secret');
  });
});

describe('github: delivery id', () => {
  it.each([
    ['72d3162e-cc78-11e3-81ab-4c9367dc0958', '72d3162e-cc78-11e3-81ab-4c9367dc0958'],
    ['has space', undefined],
    ['x'.repeat(201), undefined],
  ])('X-GitHub-Delivery %j -> %j', (value, expected) => {
    expect(SCHEMES.github.deliveryId?.({ 'x-github-delivery': value })).toBe(expected);
  });
});

describe('nextcloud-talk: HMAC over random + body', () => {
  const random = 'f'.repeat(32) + '0123456789abcdef0123456789abcdef';
  const sig = hex(SECRET, random, JSON_BODY);
  const ok = { 'x-nextcloud-talk-random': random, 'x-nextcloud-talk-signature': sig };
  const rows: Row[] = [
    ['the correct signature', ok, JSON_BODY, 'ok'],
    ['another secret', { ...ok, 'x-nextcloud-talk-signature': hex('another-secret-of-20', random, JSON_BODY) }, JSON_BODY, 'mismatch'],
    ['a tampered body', ok, `${JSON_BODY} `, 'mismatch'],
    ['re-serialised JSON', ok, reserialised, 'mismatch'],
    ['another random with the same signature', { ...ok, 'x-nextcloud-talk-random': `${random.slice(1)}0` }, JSON_BODY, 'mismatch'],
    ['signature over the body only', { ...ok, 'x-nextcloud-talk-signature': hex(SECRET, JSON_BODY) }, JSON_BODY, 'mismatch'],
    // Nextcloud's reference check lower-cases the presented signature before comparing.
    ['uppercase hex', { ...ok, 'x-nextcloud-talk-signature': sig.toUpperCase() }, JSON_BODY, 'ok'],
    ['mixed-case hex', { ...ok, 'x-nextcloud-talk-signature': `${sig.slice(0, 32).toUpperCase()}${sig.slice(32)}` }, JSON_BODY, 'ok'],
    [
      'uppercase hex of another secret',
      { ...ok, 'x-nextcloud-talk-signature': hex('another-secret-of-20', random, JSON_BODY).toUpperCase() },
      JSON_BODY,
      'mismatch',
    ],
    ['a non-hex letter', { ...ok, 'x-nextcloud-talk-signature': `${sig.slice(0, 63)}g` }, JSON_BODY, 'malformed'],
    ['a sha256= prefix', { ...ok, 'x-nextcloud-talk-signature': `sha256=${sig}` }, JSON_BODY, 'malformed'],
    ['truncated hex', { ...ok, 'x-nextcloud-talk-signature': sig.slice(0, 60) }, JSON_BODY, 'malformed'],
    ['overlong hex', { ...ok, 'x-nextcloud-talk-signature': `${sig}ab` }, JSON_BODY, 'malformed'],
    ['a short random', { ...ok, 'x-nextcloud-talk-random': 'abc' }, JSON_BODY, 'malformed'],
    ['no random', { 'x-nextcloud-talk-signature': sig }, JSON_BODY, 'missing_header'],
    ['no signature', { 'x-nextcloud-talk-random': random }, JSON_BODY, 'missing_header'],
  ];
  it.each(rows)('%s -> %s', (_label, headers, body, expected) => {
    expect(verifyDelivery('nextcloud-talk', key(SECRET), buf(body), headers, NOW)).toBe(expected);
  });
  it('names the random as the value that must never be accepted twice', () => {
    expect(SCHEMES['nextcloud-talk'].nonce?.(ok)).toBe(random);
  });
});

describe('slack: v0 over v0:<timestamp>:<body>, 5-minute window', () => {
  const sig = (ts: number, body = SLACK_BODY, secret = SECRET) => `v0=${hex(secret, `v0:${ts}:`, body)}`;
  const h = (ts: number | string, signature: string): Headers => ({ 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature });
  const rows: Array<[string, Headers, string, number, string]> = [
    ['correct, now', h(NOW, sig(NOW)), SLACK_BODY, NOW, 'ok'],
    ['correct, 300 s old', h(NOW - 300, sig(NOW - 300)), SLACK_BODY, NOW, 'ok'],
    ['correct, 300 s ahead', h(NOW + 300, sig(NOW + 300)), SLACK_BODY, NOW, 'ok'],
    ['stale: 301 s old', h(NOW - 301, sig(NOW - 301)), SLACK_BODY, NOW, 'stale'],
    ['stale: 301 s ahead', h(NOW + 301, sig(NOW + 301)), SLACK_BODY, NOW, 'stale'],
    ['timestamp changed, signature kept', h(NOW + 1, sig(NOW)), SLACK_BODY, NOW, 'mismatch'],
    ['another secret', h(NOW, sig(NOW, SLACK_BODY, 'another-secret-of-20')), SLACK_BODY, NOW, 'mismatch'],
    ['tampered body', h(NOW, sig(NOW)), SLACK_BODY.replace('roadrunner', 'coyote'), NOW, 'mismatch'],
    ['V0= uppercase prefix', h(NOW, sig(NOW).replace('v0=', 'V0=')), SLACK_BODY, NOW, 'malformed'],
    ['v1= prefix', h(NOW, sig(NOW).replace('v0=', 'v1=')), SLACK_BODY, NOW, 'malformed'],
    ['truncated hex', h(NOW, sig(NOW).slice(0, -1)), SLACK_BODY, NOW, 'malformed'],
    ['overlong hex', h(NOW, `${sig(NOW)}f`), SLACK_BODY, NOW, 'malformed'],
    ['timestamp not a number', h('1e9', sig(NOW)), SLACK_BODY, NOW, 'malformed'],
    ['negative timestamp', h(-1, sig(NOW)), SLACK_BODY, NOW, 'malformed'],
    ['no timestamp', { 'x-slack-signature': sig(NOW) }, SLACK_BODY, NOW, 'missing_header'],
    ['no signature', { 'x-slack-request-timestamp': String(NOW) }, SLACK_BODY, NOW, 'missing_header'],
  ];
  it.each(rows)('%s -> %s', (_label, headers, body, now, expected) => {
    expect(verifyDelivery('slack', key(SECRET), buf(body), headers, now)).toBe(expected);
  });
  it("the published vector is stale today (a replay of Slack's example is refused)", () => {
    expect(
      verifyDelivery('slack', key(SLACK_SECRET), buf(SLACK_BODY), { 'x-slack-request-timestamp': String(SLACK_TS), 'x-slack-signature': SLACK_SIG }, NOW),
    ).toBe('stale');
  });
});

describe.each([
  ['stripe', 'stripe-signature', 'v1'],
  ['moat', 'moat-signature', 'v2'],
] as const)('%s: t=<unix>,%s=<hex> over <t>.<body>', (scheme, name, v) => {
  const sig = (t: number, body = JSON_BODY, secret = SECRET) => hex(secret, `${t}.`, body);
  const rows: Array<[string, string | undefined, string, number, string]> = [
    ['correct', `t=${NOW},${v}=${sig(NOW)}`, JSON_BODY, NOW, 'ok'],
    [`any listed ${v} may match (secret roll)`, `t=${NOW},${v}=${sig(NOW, JSON_BODY, 'old-secret-of-twenty')},${v}=${sig(NOW)}`, JSON_BODY, NOW, 'ok'],
    ['extra schemes are ignored (Stripe v0)', `t=${NOW},${v}=${sig(NOW)},v0=${'0'.repeat(64)}`, JSON_BODY, NOW, 'ok'],
    [`no listed ${v} matches`, `t=${NOW},${v}=${sig(NOW, JSON_BODY, 'old-secret-of-twenty')}`, JSON_BODY, NOW, 'mismatch'],
    ['tampered body', `t=${NOW},${v}=${sig(NOW)}`, `${JSON_BODY}\n`, NOW, 'mismatch'],
    ['re-serialised JSON', `t=${NOW},${v}=${sig(NOW)}`, reserialised, NOW, 'mismatch'],
    [`t changed, ${v} kept`, `t=${NOW + 1},${v}=${sig(NOW)}`, JSON_BODY, NOW, 'mismatch'],
    ['stale: 301 s old', `t=${NOW - 301},${v}=${sig(NOW - 301)}`, JSON_BODY, NOW, 'stale'],
    ['stale: 301 s ahead', `t=${NOW + 301},${v}=${sig(NOW + 301)}`, JSON_BODY, NOW, 'stale'],
    ['within the window: 300 s old', `t=${NOW - 300},${v}=${sig(NOW - 300)}`, JSON_BODY, NOW, 'ok'],
    ['uppercase hex', `t=${NOW},${v}=${sig(NOW).toUpperCase()}`, JSON_BODY, NOW, 'mismatch'],
    ['truncated hex', `t=${NOW},${v}=${sig(NOW).slice(0, 40)}`, JSON_BODY, NOW, 'mismatch'],
    ['overlong hex', `t=${NOW},${v}=${sig(NOW)}00`, JSON_BODY, NOW, 'mismatch'],
    ['two timestamps', `t=${NOW},t=${NOW},${v}=${sig(NOW)}`, JSON_BODY, NOW, 'malformed'],
    ['no signature', `t=${NOW}`, JSON_BODY, NOW, 'malformed'],
    ['no t', `${v}=${sig(NOW)}`, JSON_BODY, NOW, 'malformed'],
    ['garbage', 'sha256=abc', JSON_BODY, NOW, 'malformed'],
    ['missing header', undefined, JSON_BODY, NOW, 'missing_header'],
  ];
  it.each(rows)('%s -> %s', (_label, value, body, now, expected) => {
    expect(verifyDelivery(scheme, key(SECRET), buf(body), value === undefined ? {} : { [name]: value }, now)).toBe(expected);
  });
});

describe('moat: only v2 is bound to its receiver; v1 is told apart, never taken as v2', () => {
  const sig = (t: number, body = JSON_BODY, secret = SECRET) => hex(secret, `${t}.`, body);
  const rows: Array<[string, string, string]> = [
    ['a correct v1 alone (an older moat): legacy_v1, for the receiver to refuse', `t=${NOW},v1=${sig(NOW)}`, 'legacy_v1'],
    ['a wrong v1 alone', `t=${NOW},v1=${sig(NOW, JSON_BODY, 'another-secret-of-20')}`, 'mismatch'],
    ['a stale v1', `t=${NOW - 301},v1=${sig(NOW - 301)}`, 'stale'],
    ['a correct v1 beside a wrong v2: v2 decides', `t=${NOW},v1=${sig(NOW)},v2=${sig(NOW, JSON_BODY, 'another-secret-of-20')}`, 'mismatch'],
    ['a wrong v2 before a correct v1', `t=${NOW},v2=${'0'.repeat(64)},v1=${sig(NOW)}`, 'mismatch'],
    ['a correct v2 beside a wrong v1', `t=${NOW},v1=${'0'.repeat(64)},v2=${sig(NOW)}`, 'ok'],
    ['v3 only', `t=${NOW},v3=${sig(NOW)}`, 'malformed'],
    ['V2 in capitals', `t=${NOW},V2=${sig(NOW)}`, 'malformed'],
    ['the signature under v2 with blanks around it', `t=${NOW}, v2 = ${sig(NOW)}`, 'ok'],
  ];
  it.each(rows)('%s -> %s', (_label, value, expected) => {
    expect(verifyDelivery('moat', key(SECRET), buf(JSON_BODY), { 'moat-signature': value }, NOW)).toBe(expected);
  });
  it('stripe ignores a v2 (not its scheme): v2 alone is malformed there', () => {
    expect(verifyDelivery('stripe', key(SECRET), buf(JSON_BODY), { 'stripe-signature': `t=${NOW},v2=${sig(NOW)}` }, NOW)).toBe('malformed');
  });
});

describe('stripe: the event id of the verified body is the delivery id', () => {
  it.each([
    [{ id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy' }, 'evt_1NG8Du2eZvKYlo2CUI79vXWy'],
    [{ id: 'not-an-event' }, undefined],
    [{ id: 7 }, undefined],
    [[], undefined],
    [null, undefined],
  ])('%j -> %j', (body, expected) => {
    expect(SCHEMES.stripe.deliveryIdFromBody?.(body)).toBe(expected);
  });
});

describe('secret: X-Webhook-Secret compared as digests', () => {
  const rows: Row[] = [
    ['the secret', { 'x-webhook-secret': SECRET }, JSON_BODY, 'ok'],
    ['the secret with any body (the body is not covered)', { 'x-webhook-secret': SECRET }, 'anything', 'ok'],
    ['a prefix of the secret', { 'x-webhook-secret': SECRET.slice(0, -1) }, JSON_BODY, 'mismatch'],
    ['the secret and more', { 'x-webhook-secret': `${SECRET}x` }, JSON_BODY, 'mismatch'],
    ['other case', { 'x-webhook-secret': SECRET.toUpperCase() }, JSON_BODY, 'mismatch'],
    ['empty', { 'x-webhook-secret': '' }, JSON_BODY, 'mismatch'],
    ['sent twice', { 'x-webhook-secret': [SECRET, SECRET] }, JSON_BODY, 'malformed'],
    ['in Authorization instead', { authorization: `Bearer ${SECRET}` }, JSON_BODY, 'missing_header'],
    ['missing', {}, JSON_BODY, 'missing_header'],
  ];
  it.each(rows)('%s -> %s', (_label, headers, body, expected) => {
    expect(verifyDelivery('secret', key(SECRET), buf(body), headers, NOW)).toBe(expected);
  });
});

describe('whatsapp: subscription handshake', () => {
  const TOKEN = 'verify-token-of-some-length';
  it.each([
    ['the right token', { 'hub.mode': 'subscribe', 'hub.verify_token': TOKEN, 'hub.challenge': '1158201444' }, TOKEN, { ok: true, challenge: '1158201444' }],
    ['a wrong token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1' }, TOKEN, { ok: false, reason: 'mismatch' }],
    [
      'a prefix of the token',
      { 'hub.mode': 'subscribe', 'hub.verify_token': TOKEN.slice(0, 5), 'hub.challenge': '1' },
      TOKEN,
      { ok: false, reason: 'mismatch' },
    ],
    ['no token', { 'hub.mode': 'subscribe', 'hub.challenge': '1' }, TOKEN, { ok: false, reason: 'mismatch' }],
    [
      'a hook without a verify token',
      { 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': '1' },
      null,
      { ok: false, reason: 'no_verify_token' },
    ],
    ['another mode', { 'hub.mode': 'unsubscribe', 'hub.verify_token': TOKEN, 'hub.challenge': '1' }, TOKEN, { ok: false, reason: 'not_subscribe' }],
    [
      'a challenge with markup (reflected XSS)',
      { 'hub.mode': 'subscribe', 'hub.verify_token': TOKEN, 'hub.challenge': '<script>alert(1)</script>' },
      TOKEN,
      { ok: false, reason: 'bad_challenge' },
    ],
    ['the token twice', { 'hub.mode': 'subscribe', 'hub.verify_token': [TOKEN, TOKEN], 'hub.challenge': '1' }, TOKEN, { ok: false, reason: 'mismatch' }],
  ])('%s', (_label, query, token, expected) => {
    expect(whatsappHandshake(token, query)).toEqual(expected);
  });
});

describe('moat hook test signs what the gateway verifies', () => {
  it.each(VERIFY_SCHEMES)('%s: a sample signed by the CLI verifies, and fails with another secret', (scheme) => {
    // Standard Webhooks secrets are whsec_<base64>, as its senders show them.
    const [mine, theirs] =
      scheme === 'standard-webhooks' ? ['whsec_YS1zZWNyZXQtb2YtdHdlbnR5LWNoYXJz', 'whsec_YW5vdGhlci1zZWNyZXQtb2YtMjA='] : [SECRET, 'another-secret-of-20'];
    const sample = sampleBody(scheme, NOW);
    const headers = signDelivery(scheme, mine, sample.body, NOW, 'id-1');
    expect(verifyDelivery(scheme, key(mine), buf(sample.body), headers, NOW)).toBe('ok');
    expect(verifyDelivery(scheme, key(theirs), buf(sample.body), headers, NOW)).toBe('mismatch');
  });
});
