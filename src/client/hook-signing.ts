/**
 * Signs a sample delivery the way each sender does (for `moat hook test`): the headers a GitHub,
 * WhatsApp, Nextcloud Talk, Slack, Stripe, moat, shared-secret, Standard Webhooks or timestamped-HMAC (Linq) sender would send with `body`.
 * Uses node:crypto and the API's scheme names only; the gateway's verifiers live in src/domain/hooks/verify/.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { VerifyScheme as HookScheme } from '../api/hooks.js';

const hmacHex = (secret: string, ...parts: Array<string | Buffer>) => {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** A body shaped like the sender's, for when the operator gives none. */
export function sampleBody(scheme: HookScheme, nowSeconds: number): { body: string; contentType: string } {
  switch (scheme) {
    case 'slack':
      return {
        body: `token=moat-test&team_id=T0000&command=%2Fmoat&text=hook+test&user_name=moat&trigger_id=${nowSeconds}`,
        contentType: 'application/x-www-form-urlencoded',
      };
    case 'github':
      return {
        body: JSON.stringify({ zen: 'moat hook test', ref: 'refs/heads/main', repository: { full_name: 'moat/test' }, sender: { login: 'moat' } }),
        contentType: 'application/json',
      };
    case 'whatsapp':
      return {
        body: JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [{ id: '0', changes: [{ field: 'messages', value: { messages: [{ from: '0', text: { body: 'moat hook test' } }] } }] }],
        }),
        contentType: 'application/json',
      };
    case 'nextcloud-talk':
      return {
        body: JSON.stringify({
          type: 'Create',
          actor: { type: 'Person', id: 'users/moat', name: 'moat' },
          object: { type: 'Note', name: 'message', content: 'moat hook test' },
          target: { type: 'Collection', id: 'test', name: 'test' },
        }),
        contentType: 'application/json',
      };
    case 'stripe':
      return {
        body: JSON.stringify({ id: `evt_moattest${randomBytes(8).toString('hex')}`, object: 'event', type: 'moat.test', created: nowSeconds }),
        contentType: 'application/json',
      };
    default:
      return { body: JSON.stringify({ event: 'moat.hook.test', at: new Date(nowSeconds * 1000).toISOString() }), contentType: 'application/json' };
  }
}

/** The headers that sign `body` for `scheme` with `secret` at `nowSeconds`. */
export function signDelivery(scheme: HookScheme, secret: string, body: string | Buffer, nowSeconds: number, deliveryId?: string): Record<string, string> {
  switch (scheme) {
    case 'github':
      return { 'x-hub-signature-256': `sha256=${hmacHex(secret, body)}`, 'x-github-event': 'ping', 'x-github-delivery': deliveryId ?? randomUUID() };
    case 'whatsapp':
      return { 'x-hub-signature-256': `sha256=${hmacHex(secret, body)}`, ...(deliveryId ? { 'idempotency-key': deliveryId } : {}) };
    case 'nextcloud-talk': {
      const random = randomBytes(32).toString('hex');
      return {
        'x-nextcloud-talk-random': random,
        'x-nextcloud-talk-signature': hmacHex(secret, random, body),
        ...(deliveryId ? { 'idempotency-key': deliveryId } : {}),
      };
    }
    case 'slack':
      return {
        'x-slack-request-timestamp': String(nowSeconds),
        'x-slack-signature': `v0=${hmacHex(secret, `v0:${nowSeconds}:`, body)}`,
        ...(deliveryId ? { 'idempotency-key': deliveryId } : {}),
      };
    case 'stripe':
      return { 'stripe-signature': `t=${nowSeconds},v1=${hmacHex(secret, `${nowSeconds}.`, body)}` };
    case 'moat':
      // v2: the secret of a moat hook is the receiver key its sender gives for the hook's URL.
      return { 'moat-signature': `t=${nowSeconds},v2=${hmacHex(secret, `${nowSeconds}.`, body)}`, ...(deliveryId ? { 'idempotency-key': deliveryId } : {}) };
    case 'secret':
      return { 'x-webhook-secret': secret, ...(deliveryId ? { 'idempotency-key': deliveryId } : {}) };
    case 'timestamped-hmac':
      return {
        'x-webhook-timestamp': String(nowSeconds),
        'x-webhook-signature': hmacHex(secret, `${nowSeconds}.`, body),
        ...(deliveryId ? { 'idempotency-key': deliveryId } : {}),
      };
    case 'standard-webhooks': {
      const id = deliveryId ?? `msg_${randomBytes(12).toString('hex')}`;
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
      const sig = createHmac('sha256', key).update(`${id}.${nowSeconds}.`).update(body).digest('base64');
      return { 'webhook-id': id, 'webhook-timestamp': String(nowSeconds), 'webhook-signature': `v1,${sig}` };
    }
  }
}
