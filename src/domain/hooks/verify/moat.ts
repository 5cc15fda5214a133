/**
 * Moat's own scheme (what moat's callbacks and notifications send): `Moat-Signature: t=<unix>,v2=<hex>`
 * = HMAC-SHA256(secret, `<t>.<raw body>`), 5-minute window, where the hook's secret is the receiver
 * key the sending gateway gives for this hook's URL (GET /api/v1/callbacks/secret?for=<url>). Forged
 * delivery: a v2 signature made for any other receiver (another hook, path, port or origin) was made
 * with another key and does not verify here. A header with only `v1=` (an older moat, one
 * install-wide secret: any token that can submit a job there can forge it) is `legacy_v1`, refused
 * unless the receiver opts in (inbound.acceptMoatV1). Replay within the window: the delivery id is
 * the job id inside the signed body (`job.id` of a callback, `id` of a webhook notification), so a
 * captured delivery sent again with another `Moat-Job-Id` header (which the signature does not
 * cover) is still a duplicate; `Moat-Job-Id` is used only for a body that names no job.
 */
import { anySignatureEqual, hmacSha256Hex, MOAT_SIGNATURE_HEADER, parseTimestampedSignature } from '../../../crypto/hmac.js';
import { header, WINDOW_SECONDS, type Scheme } from './types.js';

const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

export const moat: Scheme = {
  verify(secret, raw, headers, nowSeconds) {
    const value = header(headers, MOAT_SIGNATURE_HEADER);
    if (value === undefined) return 'missing_header';
    const parsed = value === null ? undefined : parseTimestampedSignature(value);
    if (!parsed) return 'malformed';
    if (Math.abs(nowSeconds - parsed.t) > WINDOW_SECONDS) return 'stale';
    const expected = hmacSha256Hex(secret, `${parsed.t}.`, raw);
    // Once a v2 is present only v2 counts: a v1 beside it is never a way around a v2 that fails.
    if (parsed.v2.length > 0) return anySignatureEqual(expected, parsed.v2) ? 'ok' : 'mismatch';
    return anySignatureEqual(expected, parsed.v1) ? 'legacy_v1' : 'mismatch';
  },
  deliveryIdFromBody(body, headers) {
    const b = body as { id?: unknown; job?: { id?: unknown } | null } | null;
    for (const id of [b?.job?.id, b?.id]) if (typeof id === 'string' && JOB_ID.test(id)) return id;
    const id = headers === undefined ? undefined : header(headers, 'moat-job-id');
    return typeof id === 'string' && JOB_ID.test(id) ? id : undefined;
  },
};
