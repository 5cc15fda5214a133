/**
 * WhatsApp (Meta Cloud API): deliveries are signed like GitHub's (`X-Hub-Signature-256` over the
 * raw body with the app secret); the subscription handshake is a GET with `hub.mode=subscribe`,
 * `hub.verify_token` (compared as digests, constant time) and `hub.challenge`, echoed as text.
 */
import { secretsEqual } from '../../../crypto/hmac.js';
import { verifyHubSignature } from './github.js';
import type { Scheme } from './types.js';

export const whatsapp: Scheme = {
  verify: (secret, raw, headers) => verifyHubSignature(secret, raw, headers),
};

/** Only digits and plain characters are echoed (the challenge is reflected into a response). */
const CHALLENGE = /^[A-Za-z0-9._-]{1,256}$/;

export type HandshakeResult = { ok: true; challenge: string } | { ok: false; reason: 'not_subscribe' | 'no_verify_token' | 'mismatch' | 'bad_challenge' };

export function whatsappHandshake(verifyToken: string | null, query: Readonly<Record<string, unknown>>): HandshakeResult {
  if (query['hub.mode'] !== 'subscribe') return { ok: false, reason: 'not_subscribe' };
  if (verifyToken === null) return { ok: false, reason: 'no_verify_token' };
  const presented = query['hub.verify_token'];
  if (typeof presented !== 'string' || !secretsEqual(verifyToken, presented)) return { ok: false, reason: 'mismatch' };
  const challenge = query['hub.challenge'];
  if (typeof challenge !== 'string' || !CHALLENGE.test(challenge)) return { ok: false, reason: 'bad_challenge' };
  return { ok: true, challenge };
}
