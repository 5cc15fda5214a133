/**
 * Moat's own scheme (what moat's callbacks send): `Moat-Signature: t=<unix>,v1=<hex>` =
 * HMAC-SHA256(secret, `<t>.<raw body>`), 5-minute window. Replay within the window: the delivery id
 * is the job id inside the signed body (`job.id` of a callback, `id` of a webhook notification), so
 * a captured delivery sent again with another `Moat-Job-Id` header (which the signature does not
 * cover) is still a duplicate; `Moat-Job-Id` is used only for a body that names no job.
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
  deliveryIdFromBody(body, headers) {
    const b = body as { id?: unknown; job?: { id?: unknown } | null } | null;
    for (const id of [b?.job?.id, b?.id]) if (typeof id === 'string' && JOB_ID.test(id)) return id;
    const id = headers === undefined ? undefined : header(headers, 'moat-job-id');
    return typeof id === 'string' && JOB_ID.test(id) ? id : undefined;
  },
};
