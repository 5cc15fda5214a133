/**
 * Moat's own scheme (what moat's callbacks send): `Moat-Signature: t=<unix>,v1=<hex>` =
 * HMAC-SHA256(secret, `<t>.<raw body>`), 5-minute window. A callback's `Moat-Job-Id` is its delivery id.
 */
import { MOAT_SIGNATURE_HEADER, verifyTimestampedSignature } from '../../../crypto/hmac.js';
import { header, WINDOW_SECONDS, type Scheme } from './types.js';

const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

export const moat: Scheme = {
  verify(secret, raw, headers, nowSeconds) {
    const value = header(headers, MOAT_SIGNATURE_HEADER);
    if (value === undefined) return 'missing_header';
    if (value === null) return 'malformed';
    return verifyTimestampedSignature(secret, value, raw, nowSeconds, WINDOW_SECONDS);
  },
  deliveryId(headers) {
    const id = header(headers, 'moat-job-id');
    return typeof id === 'string' && JOB_ID.test(id) ? id : undefined;
  },
};
