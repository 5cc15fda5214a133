/**
 * Receives POST /hooks/<name>. Forged deliveries: the signature is checked over the exact raw bytes
 * received, before anything is parsed, and a hook without a secret refuses everything (fails
 * closed). Replay: timestamped schemes are checked against a window, Nextcloud Talk randoms are
 * remembered, delivery ids deduplicate. Only then is the body parsed and the action run. Every
 * delivery is audited as `hook.delivery` with its outcome and reason, never its body or a secret.
 */
import type { AuditSink } from '../../audit/event.js';
import type { Config } from '../../config/schema.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import { checkJsonDepth } from '../../crypto/json-depth.js';
import type { HookStore } from '../../store/types.js';
import type { ActionRunner, Outcome } from './actions.js';
import type { HookRegistry } from './registry.js';
import { SCHEMES, verifyDelivery, whatsappHandshake, type Headers, type VerifyFailure } from './verify/index.js';
import { header } from './verify/types.js';

export interface Delivery {
  name: string;
  raw: Buffer;
  headers: Headers;
  query: Readonly<Record<string, unknown>>;
  client: string;
  requestId: string;
}

const ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** The body of a verified delivery: JSON (no deeper than `maxDepth`, checked before parsing) or a form. */
export function parseBody(raw: Buffer, contentType: string | undefined, maxDepth: number): unknown {
  if (raw.length === 0) return {};
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') {
    const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return out;
  }
  if (type === '' || type === 'application/json' || type.endsWith('+json')) {
    const text = raw.toString('utf8');
    // Stack exhaustion: templates and sealing walk the body recursively.
    checkJsonDepth(text, maxDepth);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new GatewayError('json_invalid', 'the body verified but is not valid JSON');
    }
  }
  throw new GatewayError('unsupported_media_type', 'hook bodies are JSON or application/x-www-form-urlencoded');
}

export interface HookReceiverOptions {
  registry: HookRegistry;
  store: HookStore;
  actions: ActionRunner;
  audit: AuditSink;
  log: Logger;
  config: () => Readonly<Config>;
  now?: () => number;
}

export class HookReceiver {
  private readonly now: () => number;

  constructor(private readonly opts: HookReceiverOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Body cap of a hook (its own, else inbound.maxBodyBytes); applied while the body streams in. */
  bodyCap(name: string): number {
    return this.opts.registry.get(name)?.maxBodyBytes ?? this.opts.config().inbound.maxBodyBytes;
  }

  /** The WhatsApp subscription handshake: the challenge to echo, or a refusal. */
  handshake(name: string, query: Readonly<Record<string, unknown>>, meta: { client: string; requestId: string }): string {
    const hook = this.opts.registry.get(name);
    const base = { type: 'hook.handshake' as const, client: meta.client, requestId: meta.requestId, method: 'GET', route: '/hooks/:name' };
    if (hook?.verify !== 'whatsapp') {
      this.opts.audit.record({ ...base, outcome: 'denied', code: 'hook_not_found', detail: { hook: name, reason: hook ? 'not_whatsapp' : 'unknown_hook' } });
      throw new GatewayError('hook_not_found', `no WhatsApp hook ${JSON.stringify(name)}`);
    }
    const result = whatsappHandshake(this.opts.registry.verifyTokenOf(name), query);
    if (!result.ok) {
      this.opts.audit.record({ ...base, outcome: 'denied', code: 'verify_token_invalid', detail: { hook: name, reason: result.reason } });
      throw new GatewayError('verify_token_invalid', 'the subscription handshake failed');
    }
    this.opts.audit.record({ ...base, outcome: 'ok', detail: { hook: name } });
    return result.challenge;
  }

  async deliver(d: Delivery): Promise<Outcome> {
    const hook = this.opts.registry.get(d.name);
    const base = { type: 'hook.delivery' as const, client: d.client, requestId: d.requestId, method: 'POST', route: '/hooks/:name' };
    const deny = (reason: VerifyFailure | 'unknown_hook', scheme?: string): never => {
      const code = reason === 'unknown_hook' ? 'hook_not_found' : 'signature_invalid';
      this.opts.audit.record({ ...base, outcome: 'denied', code, detail: { hook: d.name, ...(scheme ? { scheme } : {}), reason, bytes: d.raw.length } });
      this.opts.log.warn({ reqId: d.requestId, client: d.client, hook: d.name, reason }, 'hook delivery refused');
      throw reason === 'unknown_hook'
        ? new GatewayError('hook_not_found', `no hook ${JSON.stringify(d.name)}`)
        : new GatewayError('signature_invalid', 'the delivery is not signed correctly for this hook');
    };
    if (!hook) return deny('unknown_hook');
    const scheme = SCHEMES[hook.verify];
    const verdict = verifyDelivery(hook.verify, this.opts.registry.secretOf(d.name), d.raw, d.headers, Math.floor(this.now() / 1000));
    // A `moat` v1 signature is forgeable by any jobs token of the sender: taken only when the operator opted in (audited).
    const legacy = verdict === 'legacy_v1' && this.opts.config().inbound.acceptMoatV1;
    if (verdict !== 'ok' && !legacy) return deny(verdict, hook.verify);
    const nonce = scheme.nonce?.(d.headers);
    if (nonce !== undefined && !this.opts.store.rememberNonce(d.name, nonce, this.now())) return deny('replayed', hook.verify);

    let deliveryId: string | undefined;
    try {
      const body = parseBody(d.raw, header(d.headers, 'content-type') ?? undefined, this.opts.config().limits.maxJsonDepth);
      deliveryId = scheme.deliveryId?.(d.headers) ?? scheme.deliveryIdFromBody?.(body, d.headers) ?? idempotencyKey(d.headers);
      const prepared = this.opts.actions.prepare(hook.action, { body, query: d.query, headers: d.headers });
      const outcome = await this.opts.actions.run(
        prepared,
        { id: `hook:${d.name}`, name: `hook ${d.name}`, owner: null },
        `hook:${d.name}`,
        deliveryId === undefined ? undefined : { scope: d.name, id: deliveryId },
      );
      this.opts.audit.record({
        ...base,
        outcome: 'ok',
        detail: {
          hook: d.name,
          scheme: hook.verify,
          bytes: d.raw.length,
          duplicate: outcome.duplicate,
          ...(legacy ? { signature: 'v1' } : {}),
          ...(deliveryId ? { deliveryId } : {}),
          ...(outcome.job ? { job: outcome.job } : {}),
          ...(outcome.task ? { task: outcome.task } : {}),
        },
      });
      return outcome;
    } catch (err) {
      const code = isGatewayError(err) ? err.code : 'internal';
      this.opts.audit.record({
        ...base,
        outcome: 'error',
        code,
        detail: { hook: d.name, scheme: hook.verify, bytes: d.raw.length, reason: code, ...(deliveryId ? { deliveryId } : {}) },
      });
      throw err;
    }
  }
}

/** A sender-chosen delivery id: Idempotency-Key, else X-Idempotency-Key. */
export function idempotencyKey(headers: Headers): string | undefined {
  for (const name of ['idempotency-key', 'x-idempotency-key']) {
    const v = header(headers, name);
    if (typeof v === 'string' && ID.test(v)) return v;
  }
  return undefined;
}
