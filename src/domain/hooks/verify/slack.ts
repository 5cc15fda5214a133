/**
 * Slack: `X-Slack-Signature: v0=<hex>` = HMAC-SHA256(signing secret, `v0:<X-Slack-Request-Timestamp>:<raw
 * body>`). Replay: a timestamp more than 5 minutes away from now is refused before anything else.
 */
import { hexSignaturesEqual, hmacSha256Hex } from '../../../crypto/hmac.js';
import { header, WINDOW_SECONDS, type Scheme } from './types.js';

const SIGNATURE = /^v0=([0-9a-f]{64})$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

export const slack: Scheme = {
  verify(secret, raw, headers, nowSeconds) {
    const ts = header(headers, 'x-slack-request-timestamp');
    const signature = header(headers, 'x-slack-signature');
    if (ts === undefined || signature === undefined) return 'missing_header';
    const m = signature === null ? null : SIGNATURE.exec(signature);
    if (ts === null || !TIMESTAMP.test(ts) || !m) return 'malformed';
    if (Math.abs(nowSeconds - Number(ts)) > WINDOW_SECONDS) return 'stale';
    return hexSignaturesEqual(hmacSha256Hex(secret, `v0:${ts}:`, raw), m[1] as string) ? 'ok' : 'mismatch';
  },
};
