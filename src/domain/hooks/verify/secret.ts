/**
 * A plain shared secret in `X-Webhook-Secret` (for senders that cannot sign). Compared as SHA-256
 * digests in constant time; the body is not covered, so use TLS and prefer a signing scheme.
 */
import { secretsEqual } from '../../../crypto/hmac.js';
import { header, type Scheme } from './types.js';

export const sharedSecret: Scheme = {
  verify(secret, _raw, headers) {
    const value = header(headers, 'x-webhook-secret');
    if (value === undefined) return 'missing_header';
    if (value === null || value.length > 4096) return 'malformed';
    return secretsEqual(secret, value) ? 'ok' : 'mismatch';
  },
};
