/**
 * Sends a security notice (the heartbeat line, when the verdict worsened) and, when
 * audit.anchorNotify is on, each audit head anchor to the operator's configured ntfy topic and
 * webhook, through the egress guard (purpose notify) like every other notification. A notice holds
 * the verdict and check ids only, an anchor the signed heads: never a secret.
 */
import type { HeadAnchor } from '../../audit/anchors.js';
import type { Config } from '../../config/schema.js';
import type { EgressRequest, EgressResponse } from '../../egress/index.js';
import type { Logger } from '../../observe/logger.js';
import { callbackSignature } from '../../crypto/callback-signing.js';
import { MOAT_SIGNATURE_HEADER } from '../../crypto/hmac.js';
import type { Severity } from './types.js';

export interface SecurityNotice {
  line: string;
  verdict: Severity;
  previous: Severity;
  /** Checks that are not ok, as `id:severity`. */
  notOk: string[];
}

export interface NotifierOptions {
  outbound: { request(r: EgressRequest): Promise<EgressResponse> };
  config: () => Readonly<Config>;
  /** The callback secret: webhook notices are signed with Moat-Signature (the webhook URL's receiver key) like job notifications. */
  secret: () => string;
  log: Logger;
  now?: () => number;
}

/**
 * An audit head anchor, a copy off this host: to the webhook as signed JSON `{type: 'audit.anchor',
 * anchor}`, to ntfy at priority min (kept, never a push alert). Returns how many accepted it.
 */
export async function sendAnchorNotice(opts: NotifierOptions, anchor: HeadAnchor): Promise<number> {
  const { ntfy, webhook } = opts.config().notifications;
  const now = opts.now ?? Date.now;
  const sends: Array<Promise<EgressResponse>> = [];
  if (ntfy) {
    sends.push(
      opts.outbound.request({
        url: `${ntfy.url.replace(/\/$/, '')}/${encodeURIComponent(ntfy.topic)}`,
        purpose: 'notify',
        method: 'POST',
        headers: { title: `moat: audit anchor seq ${anchor.main.seq}`, tags: 'anchor', priority: 'min' },
        body: JSON.stringify(anchor),
      }),
    );
  }
  if (webhook) {
    const body = JSON.stringify({ type: 'audit.anchor', anchor });
    sends.push(
      opts.outbound.request({
        url: webhook.url,
        purpose: 'notify',
        method: 'POST',
        headers: { 'content-type': 'application/json', [MOAT_SIGNATURE_HEADER]: callbackSignature(opts.secret(), webhook.url, body, Math.floor(now() / 1000)) },
        body,
      }),
    );
  }
  return settle(opts, sends, 'audit anchor not delivered');
}

/** Sends to every configured channel; returns how many accepted it. Failures are logged, never thrown. */
export async function sendSecurityNotice(opts: NotifierOptions, notice: SecurityNotice): Promise<number> {
  const { ntfy, webhook } = opts.config().notifications;
  const now = opts.now ?? Date.now;
  const sends: Array<Promise<EgressResponse>> = [];
  if (ntfy) {
    sends.push(
      opts.outbound.request({
        url: `${ntfy.url.replace(/\/$/, '')}/${encodeURIComponent(ntfy.topic)}`,
        purpose: 'notify',
        method: 'POST',
        headers: {
          title: `moat: security posture ${notice.verdict} (was ${notice.previous})`,
          tags: notice.verdict === 'fail' ? 'rotating_light' : 'warning',
          priority: notice.verdict === 'fail' ? 'high' : 'default',
        },
        body: `${notice.line}\n${notice.notOk.length > 0 ? `not ok: ${notice.notOk.join(', ')}\n` : ''}details: moat doctor`,
      }),
    );
  }
  if (webhook) {
    const body = JSON.stringify({ type: 'security.heartbeat', ...notice });
    sends.push(
      opts.outbound.request({
        url: webhook.url,
        purpose: 'notify',
        method: 'POST',
        headers: { 'content-type': 'application/json', [MOAT_SIGNATURE_HEADER]: callbackSignature(opts.secret(), webhook.url, body, Math.floor(now() / 1000)) },
        body,
      }),
    );
  }
  return settle(opts, sends, 'security notice not delivered');
}

async function settle(opts: NotifierOptions, sends: Array<Promise<EgressResponse>>, failed: string): Promise<number> {
  let delivered = 0;
  for (const r of await Promise.allSettled(sends)) {
    if (r.status === 'fulfilled' && r.value.status >= 200 && r.value.status < 300) delivered++;
    else {
      const why = r.status === 'rejected' ? ((r.reason as { code?: string }).code ?? String(r.reason)) : `HTTP ${r.value.status}`;
      opts.log.warn({ error: why }, failed);
    }
  }
  return delivered;
}
