/**
 * Timestamped HMAC (Linq's Partner API webhooks, as the RantAIClaw gateway verifies them in
 * `verify_linq_signature`): `X-Webhook-Timestamp: <unix seconds>` and `X-Webhook-Signature: <hex>` =
 * HMAC-SHA256(secret, "<timestamp>.<raw body>"). Following that reference: an optional `sha256=`
 * prefix, hex in either case (it hex-decodes the value), constant-time comparison, and a 300 s
 * window either way. Replay: the window, and the envelope's `event_id` (or Idempotency-Key) as the
 * delivery id, deduplicated.
 */
import { timingSafeEqual } from 'node:crypto';
import { hmacSha256Hex } from '../../../crypto/hmac.js';
import { header, WINDOW_SECONDS, type Scheme } from './types.js';

const SIGNATURE = /^(?:sha256=)?([0-9a-fA-F]{64})$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
const EVENT_ID = /^[A-Za-z0-9._:-]{1,200}$/;

export const timestampedHmac: Scheme = {
  verify(secret, raw, headers, nowSeconds) {
    const ts = header(headers, 'x-webhook-timestamp');
    const signature = header(headers, 'x-webhook-signature');
    if (ts === undefined || signature === undefined) return 'missing_header';
    // The reference trims the value before decoding it; blanks around it are not part of the signature.
    const m = signature === null ? null : SIGNATURE.exec(signature.trim());
    if (ts === null || !TIMESTAMP.test(ts) || !m) return 'malformed';
    if (Math.abs(nowSeconds - Number(ts)) > WINDOW_SECONDS) return 'stale';
    const expected = Buffer.from(hmacSha256Hex(secret, `${ts}.`, raw), 'hex');
    return timingSafeEqual(expected, Buffer.from(m[1] as string, 'hex')) ? 'ok' : 'mismatch';
  },
  deliveryIdFromBody(body) {
    const id = (body as { event_id?: unknown } | null)?.event_id;
    return typeof id === 'string' && EVENT_ID.test(id) ? id : undefined;
  },
};
