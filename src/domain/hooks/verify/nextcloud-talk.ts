/**
 * Nextcloud Talk bots: `X-Nextcloud-Talk-Signature` = hex HMAC-SHA256(secret, X-Nextcloud-Talk-Random
 * + raw body). Nextcloud's reference check (the Talk bot docs, `hash_equals($digest,
 * strtolower($signature))`) lower-cases the presented signature, so upper- or mixed-case hex is as
 * valid as lowercase; anything but 64 hex digits is not. Replay: the scheme has no timestamp, so
 * the random is the one-time value the receiver remembers (inbound.nonceHours); a random seen
 * before is refused.
 */
import { hexSignaturesEqual, hmacSha256Hex } from '../../../crypto/hmac.js';
import { header, type Scheme } from './types.js';

const SIGNATURE = /^[0-9a-fA-F]{64}$/;
const RANDOM = /^[A-Za-z0-9+/=_-]{16,256}$/;

export const nextcloudTalk: Scheme = {
  verify(secret, raw, headers) {
    const random = header(headers, 'x-nextcloud-talk-random');
    const signature = header(headers, 'x-nextcloud-talk-signature');
    if (random === undefined || signature === undefined) return 'missing_header';
    if (random === null || signature === null || !RANDOM.test(random) || !SIGNATURE.test(signature)) return 'malformed';
    return hexSignaturesEqual(hmacSha256Hex(secret, random, raw), signature.toLowerCase()) ? 'ok' : 'mismatch';
  },
  nonce(headers) {
    const random = header(headers, 'x-nextcloud-talk-random');
    return typeof random === 'string' ? random : undefined;
  },
};
