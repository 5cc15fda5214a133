/**
 * Standard Webhooks (standardwebhooks.com; GPU inference providers such as Replicate sign prediction
 * callbacks this way): `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature:
 * v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`, several space-separated signatures
 * allowed (during a secret rotation; any `v1` may match, other versions are skipped). The secret is
 * `whsec_<base64 key>` (without the prefix, the whole secret is read as base64), as the reference
 * libraries decode it. Replay: the timestamp must be within 5 minutes either way (the reference
 * tolerance), and `webhook-id` is the delivery id, deduplicated.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { header, WINDOW_SECONDS, type Scheme } from './types.js';

const ID = /^[A-Za-z0-9._:-]{1,200}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
/** Standard base64 of a 32-byte HMAC: 43 characters and one `=`. */
const V1 = /^v1,([A-Za-z0-9+/]{43}=)$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PREFIX = 'whsec_';
const MAX_SIGNATURES = 16;

/** The HMAC key a Standard Webhooks secret stands for; null when it is not base64. */
export function standardWebhooksKey(secret: Buffer): Buffer | null {
  let text = secret.toString('utf8');
  if (text.startsWith(PREFIX)) text = text.slice(PREFIX.length);
  if (!BASE64.test(text) || text.length % 4 !== 0) return null;
  const key = Buffer.from(text, 'base64');
  return key.length === 0 ? null : key;
}

export const standardWebhooks: Scheme = {
  verify(secret, raw, headers, nowSeconds) {
    const id = header(headers, 'webhook-id');
    const ts = header(headers, 'webhook-timestamp');
    const signature = header(headers, 'webhook-signature');
    if (id === undefined || ts === undefined || signature === undefined) return 'missing_header';
    if (id === null || ts === null || signature === null || !ID.test(id) || !TIMESTAMP.test(ts)) return 'malformed';
    const key = standardWebhooksKey(secret);
    if (key === null) return 'no_secret';
    const candidates = signature.split(' ').filter((s) => s !== '');
    if (candidates.length === 0 || candidates.length > MAX_SIGNATURES) return 'malformed';
    if (Math.abs(nowSeconds - Number(ts)) > WINDOW_SECONDS) return 'stale';
    const expected = createHmac('sha256', key).update(`${id}.${ts}.`).update(raw).digest();
    // Every v1 candidate is compared (no early exit on the first match); other versions are skipped.
    let match = false;
    for (const c of candidates) {
      const m = V1.exec(c);
      if (m) match = timingSafeEqual(expected, Buffer.from(m[1] as string, 'base64')) || match;
    }
    return match ? 'ok' : 'mismatch';
  },
  deliveryId(headers) {
    const id = header(headers, 'webhook-id');
    return typeof id === 'string' && ID.test(id) ? id : undefined;
  },
};
