/**
 * GitHub (and Meta's WhatsApp Cloud API): `X-Hub-Signature-256: sha256=<hex>` = HMAC-SHA256(secret,
 * raw body). Forged deliveries: the prefix is lowercase `sha256=` and the hex exactly 64 lowercase
 * characters, nothing else (an uppercase prefix, a truncated or overlong value is malformed), and the
 * comparison is constant time. GitHub's delivery id is `X-GitHub-Delivery`. No timestamp: replay of a
 * captured delivery is stopped only by the delivery id (docs/hooks.md#replay).
 */
import { hexSignaturesEqual, hmacSha256Hex } from '../../../crypto/hmac.js';
import { header, type Headers, type Scheme, type VerifyResult } from './types.js';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,200}$/;

export function verifyHubSignature(secret: Buffer, raw: Buffer, headers: Headers): VerifyResult {
  const value = header(headers, 'x-hub-signature-256');
  if (value === undefined) return 'missing_header';
  const m = value === null ? null : SIGNATURE.exec(value);
  if (!m) return 'malformed';
  return hexSignaturesEqual(hmacSha256Hex(secret, raw), m[1] as string) ? 'ok' : 'mismatch';
}

export const github: Scheme = {
  verify: (secret, raw, headers) => verifyHubSignature(secret, raw, headers),
  deliveryId(headers) {
    const id = header(headers, 'x-github-delivery');
    return typeof id === 'string' && DELIVERY_ID.test(id) ? id : undefined;
  },
};
