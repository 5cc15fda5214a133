/**
 * Pairing: an admin mints a short-lived, single-use 6-digit code carrying scopes; a device trades
 * it for a token once. Codes are stored as keyed digests. A used, expired or wrong code gets the
 * same answer (pairing_code_invalid); the pipeline counts it towards the client's lockout.
 */
import { GatewayError } from '../../errors.js';
import type { AuditSink } from '../../audit/event.js';
import { generatePairingCode, isWellFormedPairingCode, pairingCodeDigest } from '../../crypto/pairing.js';
import { randomId } from '../../crypto/tokens.js';
import type { PairingStore } from '../../store/types.js';
import { checkScopes, checkTokenName, type TokenService, type TokenView } from './tokens.js';
import type { Actor } from '../../api/actor.js';

export interface MintInput {
  scopes: string[];
  ttlSeconds?: number | undefined;
  name?: string | undefined;
  tokenTtlSeconds?: number | undefined;
}

export interface PairingLimits {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}

export interface PairingServiceOptions {
  store: PairingStore;
  tokens: TokenService;
  audit: AuditSink;
  key: Buffer;
  limits: () => PairingLimits;
  now?: () => number;
}

export class PairingService {
  private readonly now: () => number;
  constructor(private readonly opts: PairingServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  mint(input: MintInput, actor: Actor): { code: string; id: string; scopes: string[]; expiresAt: string } {
    const limits = this.opts.limits();
    const ttl = input.ttlSeconds ?? limits.defaultTtlSeconds;
    if (ttl > limits.maxTtlSeconds) {
      throw new GatewayError('validation_failed', `ttlSeconds: at most ${limits.maxTtlSeconds} (pairing.maxTtlSeconds)`);
    }
    // A 6-digit code is guessable in principle; it may never carry admin.
    if (input.scopes.includes('admin')) throw new GatewayError('validation_failed', 'scopes: a pairing code cannot grant admin; create an admin token with moat token create');
    // What the code's token will be is checked now: a code that could never be redeemed is refused.
    const scopes = checkScopes(input.scopes);
    const name = input.name === undefined ? null : checkTokenName(input.name);
    const now = this.now();
    this.opts.store.prune(now);
    let code = generatePairingCode();
    // Two live codes must not share digits (1 in a million); draw again if they would.
    for (let i = 0; i < 10 && this.isLive(code, now); i++) code = generatePairingCode();
    const id = randomId('pair');
    const expiresAt = now + ttl * 1000;
    this.opts.store.insert({
      id,
      digest: pairingCodeDigest(this.opts.key, code),
      name,
      scopes,
      tokenTtlSeconds: input.tokenTtlSeconds ?? null,
      createdAt: now,
      expiresAt,
      usedAt: null,
      createdBy: actor.id,
    });
    this.opts.audit.record({ type: 'pairing.minted', outcome: 'ok', actor, detail: { pairingId: id, scopes, expiresAt: new Date(expiresAt).toISOString() } });
    return { code, id, scopes, expiresAt: new Date(expiresAt).toISOString() };
  }

  private isLive(code: string, now: number): boolean {
    return this.opts.store.isLive(pairingCodeDigest(this.opts.key, code), now);
  }

  /**
   * Trades a code for a token, once. A code is used up only by the token it gives: a name that is
   * malformed or taken is refused (400, 409) with the code still good, so the device can retry.
   */
  redeem(code: string, name: string | undefined, client: string): { token: string; view: TokenView } {
    if (!isWellFormedPairingCode(code)) throw new GatewayError('pairing_code_invalid', 'pairing code unknown, used or expired');
    if (name !== undefined) checkTokenName(name);
    const digest = pairingCodeDigest(this.opts.key, code);
    const pending = this.opts.store.peek(digest, this.now());
    if (!pending) throw new GatewayError('pairing_code_invalid', 'pairing code unknown, used or expired');
    const input = { name: name ?? pending.name ?? `paired-${pending.id.slice(5, 11)}`, scopes: pending.scopes, ttlSeconds: pending.tokenTtlSeconds ?? undefined };
    this.opts.tokens.checkNew(input);
    const record = this.opts.store.consume(digest, this.now());
    if (!record) throw new GatewayError('pairing_code_invalid', 'pairing code unknown, used or expired');
    const created = this.opts.tokens.create(input, { id: record.createdBy ?? 'admin', name: 'pairing' }, 'pairing');
    this.opts.audit.record({ type: 'pairing.redeemed', outcome: 'ok', client, detail: { pairingId: record.id, tokenId: created.view.id } });
    return created;
  }
}
