/** The signature schemes by name (config `verify`), and the one entry point the receiver calls. */
import type { VerifyScheme } from '../../../api/hooks.js';
import { github } from './github.js';
import { moat } from './moat.js';
import { nextcloudTalk } from './nextcloud-talk.js';
import { sharedSecret } from './secret.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { timestampedHmac } from './timestamped-hmac.js';
import { stripe } from './stripe.js';
import type { Headers, Scheme, VerifyResult } from './types.js';
import { whatsapp } from './whatsapp.js';

export const SCHEMES: Readonly<Record<VerifyScheme, Scheme>> = {
  github,
  whatsapp,
  'nextcloud-talk': nextcloudTalk,
  slack,
  stripe,
  moat,
  secret: sharedSecret,
  'standard-webhooks': standardWebhooks,
  'timestamped-hmac': timestampedHmac,
};

/** Fails closed: no secret configured means no delivery verifies. */
export function verifyDelivery(scheme: VerifyScheme, secret: Buffer | null, raw: Buffer, headers: Headers, nowSeconds: number): VerifyResult {
  if (secret === null || secret.length === 0) return 'no_secret';
  return SCHEMES[scheme].verify(secret, raw, headers, nowSeconds);
}

export { whatsappHandshake, type HandshakeResult } from './whatsapp.js';
export type { Headers, Scheme, VerifyFailure, VerifyResult } from './types.js';
