/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` = HMAC-SHA256(secret, `<t>.<raw body>`);
 * any listed v1 may match (during a secret roll), every one is compared. Replay: 5-minute window.
 * The event id (`evt_...`) in the verified body is the delivery id.
 */
import { verifyTimestampedSignature } from '../../../crypto/hmac.js';
import { header, WINDOW_SECONDS, type Scheme } from './types.js';

const EVENT_ID = /^evt_[A-Za-z0-9]{1,200}$/;

export const stripe: Scheme = {
  verify(secret, raw, headers, nowSeconds) {
    const value = header(headers, 'stripe-signature');
    if (value === undefined) return 'missing_header';
    if (value === null) return 'malformed';
    return verifyTimestampedSignature(secret, value, raw, nowSeconds, WINDOW_SECONDS);
  },
  deliveryIdFromBody(body) {
    const id = (body as { id?: unknown } | null)?.id;
    return typeof id === 'string' && EVENT_ID.test(id) ? id : undefined;
  },
};
