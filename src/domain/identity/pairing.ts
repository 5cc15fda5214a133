/**
 * Pairing: an admin mints a short-lived, single-use 6-digit code carrying scopes; a device trades
 * it for a token once. A console code redeems for a browser session instead, and also carries a
 * 256-bit link code (the sign-in link `/console/#signin=<code>` and its QR code); using either burns
 * both. Codes are stored as keyed digests. A used, expired or wrong code gets the same answer
 * (pairing_code_invalid); the pipeline counts it towards the client's lockout. Rotating the admin
 * token withdraws every code not redeemed yet.
 */
import { GatewayError } from '../../errors.js';
import type { AuditSink } from '../../audit/event.js';
import { generateLinkCode, generatePairingCode, isWellFormedLinkCode, isWellFormedPairingCode, pairingCodeDigest } from '../../crypto/pairing.js';
import { randomId } from '../../crypto/tokens.js';
import type { PairingStore } from '../../store/types.js';
import type { SessionService, SessionView } from './sessions.js';
import { checkScopes, checkTokenName, type TokenService, type TokenView } from './tokens.js';
import type { Actor } from '../../api/actor.js';

export interface MintInput {
  scopes: string[];
  ttlSeconds?: number | undefined;
  name?: string | undefined;
  tokenTtlSeconds?: number | undefined;
  /** Redeems for a console session (POST /api/v1/console/session), with a sign-in link. */
  console?: boolean | undefined;
}

export interface Minted {
  /** The 6 digits; null for an admin console code (link only: 6 digits never carry admin). */
  code: string | null;
  id: string;
  scopes: string[];
  expiresAt: string;
  console: boolean;
  /** `<base>/console/#signin=<link code>`: console codes only. */
  signinUrl?: string;
}

export interface PairingLimits {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}

export interface PairingServiceOptions {
  store: PairingStore;
  tokens: TokenService;
  /** Console sessions; null when the console is off (console codes are then refused). */
  sessions: SessionService | null;
  audit: AuditSink;
  key: Buffer;
  limits: () => PairingLimits;
  /** Base URL of sign-in links (what a phone reaches): tasks.linkBaseUrl, publicNames[0], or the gateway's URL. */
  signinBase: () => string;
  /** Tells the event stream a code was used (the console that minted it marks it redeemed). */
  publish?: (type: string, data: Record<string, unknown>) => void;
  now?: () => number;
}

const INVALID = 'pairing code unknown, used or expired';

export class PairingService {
  private readonly now: () => number;
  constructor(private readonly opts: PairingServiceOptions) {
    this.now = opts.now ?? Date.now;
    // A rotated admin token shuts every door at once (docs/console.md): the codes its holder minted
    // and nobody redeemed yet are doors too (an admin console sign-in link above all), so they go.
    opts.tokens.onEnded((id, reason) => {
      if (id === 'admin' && reason === 'rotated') opts.store.withdrawUnused();
    });
  }

  mint(input: MintInput, actor: Actor): Minted {
    const limits = this.opts.limits();
    const ttl = input.ttlSeconds ?? limits.defaultTtlSeconds;
    const isConsole = input.console === true;
    if (ttl > limits.maxTtlSeconds) {
      throw new GatewayError('validation_failed', `ttlSeconds: at most ${limits.maxTtlSeconds} (pairing.maxTtlSeconds)`);
    }
    if (isConsole && this.opts.sessions === null) throw new GatewayError('validation_failed', 'console: the console is off (console.enabled)');
    if (isConsole && input.tokenTtlSeconds !== undefined) {
      throw new GatewayError('validation_failed', 'tokenTtlSeconds: a console code makes a session, whose lifetime is console.sessionMaxAgeSeconds');
    }
    // A 6-digit code is guessable in principle; it may never carry admin. A console code may: it then
    // has no digits, only the 256-bit link code (shown as a link and a QR code at the machine).
    const admin = input.scopes.includes('admin');
    if (admin && !isConsole)
      throw new GatewayError('validation_failed', 'scopes: a pairing code cannot grant admin; create an admin token with moat token create');
    // What the code's token will be is checked now: a code that could never be redeemed is refused.
    const scopes = checkScopes(input.scopes);
    const name = input.name === undefined ? null : checkTokenName(input.name);
    const now = this.now();
    this.opts.store.prune(now);
    const link = isConsole ? generateLinkCode() : null;
    const linkDigest = link === null ? null : pairingCodeDigest(this.opts.key, link);
    let code: string | null = null;
    if (!admin) {
      code = generatePairingCode();
      // Two live codes must not share digits (1 in a million); draw again if they would.
      for (let i = 0; i < 10 && this.isLive(code, now); i++) code = generatePairingCode();
    }
    const id = randomId('pair');
    const expiresAt = now + ttl * 1000;
    this.opts.store.insert({
      id,
      digest: code === null ? (linkDigest as string) : pairingCodeDigest(this.opts.key, code),
      name,
      scopes,
      tokenTtlSeconds: input.tokenTtlSeconds ?? null,
      createdAt: now,
      expiresAt,
      usedAt: null,
      createdBy: actor.id,
      console: isConsole,
      linkDigest,
    });
    const iso = new Date(expiresAt).toISOString();
    this.opts.audit.record({
      type: 'pairing.minted',
      outcome: 'ok',
      actor,
      detail: { pairingId: id, scopes, expiresAt: iso, ...(isConsole ? { console: true, digits: code !== null } : {}) },
    });
    const minted: Minted = { code, id, scopes, expiresAt: iso, console: isConsole };
    if (link !== null) minted.signinUrl = `${this.opts.signinBase().replace(/\/+$/, '')}/console/#signin=${link}`;
    return minted;
  }

  private isLive(code: string, now: number): boolean {
    return this.opts.store.isLive(pairingCodeDigest(this.opts.key, code), now);
  }

  /**
   * Trades a code for a token, once. A code is used up only by the token it gives: a name that is
   * malformed or taken is refused (400, 409) with the code still good, so the device can retry.
   */
  redeem(code: string, name: string | undefined, client: string): { token: string; view: TokenView } {
    if (!isWellFormedPairingCode(code)) throw new GatewayError('pairing_code_invalid', INVALID);
    if (name !== undefined) checkTokenName(name);
    const digest = pairingCodeDigest(this.opts.key, code);
    const pending = this.opts.store.peek(digest, this.now(), 'token');
    if (!pending) throw new GatewayError('pairing_code_invalid', INVALID);
    const input = {
      name: name ?? pending.name ?? `paired-${pending.id.slice(5, 11)}`,
      scopes: pending.scopes,
      ttlSeconds: pending.tokenTtlSeconds ?? undefined,
    };
    this.opts.tokens.checkNew(input);
    const record = this.opts.store.consume(digest, this.now(), 'token');
    if (!record) throw new GatewayError('pairing_code_invalid', INVALID);
    const created = this.opts.tokens.create(input, { id: record.createdBy ?? 'admin', name: 'pairing' }, 'pairing');
    this.opts.audit.record({ type: 'pairing.redeemed', outcome: 'ok', client, detail: { pairingId: record.id, tokenId: created.view.id } });
    this.opts.publish?.('pairing.redeemed', { pairingId: record.id, redeemedAs: 'token' });
    return created;
  }

  /**
   * Trades a console code (its 6 digits or its link code) for a session, once: the code's row is
   * claimed atomically, so the digits and the link burn together and two browsers racing get one
   * session. A token pairing code is refused here, as a console code is at POST /api/v1/pair.
   */
  redeemSession(code: string, client: string): { secret: string; view: SessionView } {
    const sessions = this.opts.sessions;
    const kind = isWellFormedPairingCode(code) ? 'digits' : isWellFormedLinkCode(code) ? 'link' : null;
    if (sessions === null || kind === null) throw new GatewayError('pairing_code_invalid', INVALID);
    const record = this.opts.store.consume(pairingCodeDigest(this.opts.key, code), this.now(), 'console');
    if (!record) throw new GatewayError('pairing_code_invalid', INVALID);
    const created = sessions.create({ name: record.name ?? 'console', scopes: record.scopes }, client, {
      pairingId: record.id,
      createdBy: record.createdBy,
      code: kind,
    });
    this.opts.audit.record({ type: 'pairing.redeemed', outcome: 'ok', client, detail: { pairingId: record.id, sessionId: created.view.id, code: kind } });
    this.opts.publish?.('pairing.redeemed', { pairingId: record.id, redeemedAs: 'session' });
    return created;
  }
}
