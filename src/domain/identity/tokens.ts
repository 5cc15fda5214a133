/**
 * Scoped tokens: create (secret shown once), list, revoke, rotate the admin token, and verify on
 * every request. Active tokens are held in memory by digest so that verification is one hash and
 * one map lookup; revocation and expiry take effect on the next request, and the database is the
 * truth across restarts. last-used times are written in batches.
 */
import { GatewayError } from '../../errors.js';
import type { AuditSink } from '../../audit/event.js';
import type { Logger } from '../../observe/logger.js';
import type { Principal } from '../../crypto/principal.js';
import { isScope } from '../../crypto/scopes.js';
import { digestsEqual, generateToken, randomId, tokenDigest } from '../../crypto/tokens.js';
import type { TokenRecord, TokenStore } from '../../store/types.js';
import { writeAdminToken } from './admin-token.js';
import type { Actor } from '../../api/actor.js';

export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  kind: 'admin' | 'token';
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreateTokenInput {
  name: string;
  scopes: string[];
  ttlSeconds?: number | undefined;
}

interface Cached {
  record: TokenRecord;
  principal: Principal;
}

const LAST_USED_RESOLUTION_MS = 1000;
const FLUSH_EVERY_MS = 5000;
/** Longer presented secrets are refused before hashing (no hashing of megabyte headers). */
const MAX_SECRET_LENGTH = 600;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/;

/** Scopes of a new token or pairing code: at least one, each known; duplicates dropped. */
export function checkScopes(requested: readonly string[]): string[] {
  const scopes = [...new Set(requested)];
  if (scopes.length === 0) throw new GatewayError('validation_failed', 'scopes: at least one scope is needed');
  const bad = scopes.filter((s) => !isScope(s));
  if (bad.length > 0) throw new GatewayError('validation_failed', `scopes: unknown scope ${bad.map((s) => JSON.stringify(s)).join(', ')}`);
  return scopes;
}

/** A token name: 1-64 letters, digits, space, . _ @ - (throws validation_failed). */
export function checkTokenName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  if (!NAME.test(trimmed)) throw new GatewayError('validation_failed', `${field}: 1-64 letters, digits, space, . _ @ - (starting with a letter or digit)`);
  return trimmed;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function tokenView(r: TokenRecord): TokenView {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    kind: r.kind,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: iso(r.expiresAt),
    lastUsedAt: iso(r.lastUsedAt),
    revokedAt: iso(r.revokedAt),
  };
}

export interface TokenServiceOptions {
  store: TokenStore;
  audit: AuditSink;
  log: Logger;
  dataDir: string;
  now?: () => number;
}

export class TokenService {
  private readonly byDigest = new Map<string, Cached>();
  /** Active named tokens by name (the admin token has none): name checks stay O(1) however many tokens exist. */
  private readonly byName = new Map<string, TokenRecord>();
  private readonly byId = new Map<string, TokenRecord>();
  /** Told the id of a token that stopped working by revocation or rotation (long-lived streams end with it). */
  private readonly endListeners = new Set<(id: string, reason: 'revoked' | 'rotated') => void>();
  private readonly dirty = new Map<string, number>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  /** Whether the admin token lives in the data dir (false when supplied by --admin-token and the like). */
  private adminFromFile = true;

  constructor(private readonly opts: TokenServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The scoped token (revoked ones too) whose secret this is, if any: checked at boot against a supplied admin token. */
  scopedTokenWithSecret(secret: string): Actor | undefined {
    const digest = tokenDigest(secret);
    const r = this.opts.store.listAll().find((t) => t.kind !== 'admin' && t.hash === digest);
    return r ? { id: r.id, name: r.name } : undefined;
  }

  /** Installs the admin token's digest and loads active tokens. */
  start(admin: { token: string; fromFile: boolean }): void {
    this.adminFromFile = admin.fromFile;
    this.opts.store.upsertAdmin(tokenDigest(admin.token), this.now());
    this.reload();
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }

  private reload(): void {
    this.byDigest.clear();
    this.byName.clear();
    this.byId.clear();
    for (const r of this.opts.store.listActive()) this.cache(r);
  }

  private cache(r: TokenRecord): void {
    const principal: Principal = Object.freeze({ id: r.id, name: r.name, kind: r.kind, scopes: new Set(r.scopes) });
    this.byDigest.set(r.hash, { record: r, principal });
    if (r.kind === 'token') this.byName.set(r.name, r);
    this.byId.set(r.id, r);
  }

  /** The hot path: one map lookup, a constant-time compare, an expiry check (the caller hashed). */
  verifyDigest(digest: string, now: number): Principal | null {
    const hit = this.byDigest.get(digest);
    if (hit === undefined || !digestsEqual(hit.record.hash, digest)) return null;
    const r = hit.record;
    if (r.expiresAt !== null && r.expiresAt <= now) return null;
    if (r.lastUsedAt === null || now - r.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      r.lastUsedAt = now;
      this.dirty.set(r.id, now);
    }
    return hit.principal;
  }

  /** Verifies a token secret (tests and tools; requests go through verifyDigest). */
  verify(secret: string, now: number): Principal | null {
    if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return null;
    return this.verifyDigest(tokenDigest(secret), now);
  }

  flush(): void {
    if (this.dirty.size === 0) return;
    const updates = [...this.dirty].map(([id, at]) => ({ id, at }));
    this.dirty.clear();
    try {
      this.opts.store.touchLastUsed(updates);
    } catch (err) {
      this.opts.log.warn({ err }, 'could not record token last-used times');
    }
  }

  /**
   * Checks what a new token would be (name and scopes well-formed, the name free) without making
   * it: throws validation_failed or conflict. Pairing checks a code's token before using the code up.
   */
  checkNew(input: Pick<CreateTokenInput, 'name' | 'scopes'>): { name: string; scopes: string[] } {
    const name = checkTokenName(input.name);
    const scopes = checkScopes(input.scopes);
    if (this.findActiveByName(name, this.now())) throw new GatewayError('conflict', `an active token is already named ${JSON.stringify(name)}`);
    return { name, scopes };
  }

  create(input: CreateTokenInput, actor: Actor, via: 'api' | 'pairing' = 'api'): { token: string; view: TokenView } {
    const { name, scopes } = this.checkNew(input);
    const now = this.now();
    const token = generateToken();
    const record: TokenRecord = {
      id: randomId('tok'),
      name,
      hash: tokenDigest(token),
      scopes,
      kind: 'token',
      createdAt: now,
      expiresAt: input.ttlSeconds === undefined ? null : now + input.ttlSeconds * 1000,
      lastUsedAt: null,
      revokedAt: null,
      createdBy: actor.id,
    };
    this.opts.store.insert(record);
    this.cache(record);
    this.opts.audit.record({
      type: 'token.created',
      outcome: 'ok',
      actor,
      detail: { tokenId: record.id, name, scopes, expiresAt: iso(record.expiresAt), via },
    });
    return { token, view: tokenView(record) };
  }

  list(): TokenView[] {
    this.flush();
    return this.opts.store.listAll().map(tokenView);
  }

  /** The active token with this name; with `now`, an expired one no longer holds its name. */
  private findActiveByName(name: string, now?: number): TokenRecord | undefined {
    const record = this.byName.get(name);
    if (record === undefined || (now !== undefined && record.expiresAt !== null && record.expiresAt <= now)) return undefined;
    return record;
  }

  /** Revokes by id or (active) name; effective on the next request. */
  revoke(idOrName: string, actor: Actor): TokenView {
    const record = this.opts.store.get(idOrName) ?? this.findActiveByName(idOrName);
    if (!record) throw new GatewayError('not_found', `no token ${JSON.stringify(idOrName)}`);
    if (record.kind === 'admin') throw new GatewayError('conflict', 'the admin token is not revoked but rotated: moat token rotate-admin');
    if (record.revokedAt !== null) return tokenView(record);
    const at = this.now();
    this.opts.store.revoke(record.id, at);
    this.byDigest.delete(record.hash);
    if (this.byName.get(record.name)?.id === record.id) this.byName.delete(record.name);
    this.byId.delete(record.id);
    this.opts.audit.record({ type: 'token.revoked', outcome: 'ok', actor, detail: { tokenId: record.id, name: record.name } });
    this.ended(record.id, 'revoked');
    return tokenView({ ...record, revokedAt: at });
  }

  /** New admin secret in <dataDir>/gateway-token; the old one stops working at once. */
  rotateAdmin(actor: Actor): { tokenFile: string } {
    if (!this.adminFromFile) {
      throw new GatewayError(
        'conflict',
        'the admin token was supplied to moat serve (--admin-token, MOAT_ADMIN_TOKEN or auth.token); change it where it is set and restart',
      );
    }
    const token = generateToken();
    writeAdminToken(this.opts.dataDir, token);
    this.opts.store.upsertAdmin(tokenDigest(token), this.now());
    this.reload();
    this.opts.audit.record({ type: 'token.rotated', outcome: 'ok', actor, detail: { tokenId: 'admin' } });
    this.ended('admin', 'rotated');
    return { tokenFile: `${this.opts.dataDir}/gateway-token` };
  }

  /** The active token with this id (GET /api/v1/me), or undefined. */
  describe(id: string): TokenView | undefined {
    const r = this.byId.get(id);
    return r === undefined ? undefined : tokenView(r);
  }

  /** Whether the token with this id works now: not revoked, not expired (a stream checks the token it came in with). */
  isActive(id: string): boolean {
    const r = this.byId.get(id);
    return r !== undefined && (r.expiresAt === null || r.expiresAt > this.now());
  }

  /** Calls `fn` with the id of each token revoked, or `admin` when the admin token is rotated; returns the unsubscribe. */
  onEnded(fn: (id: string, reason: 'revoked' | 'rotated') => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  private ended(id: string, reason: 'revoked' | 'rotated'): void {
    for (const fn of [...this.endListeners]) {
      try {
        fn(id, reason);
      } catch (err) {
        this.opts.log.warn({ err, tokenId: id }, 'a listener failed on a token ending');
      }
    }
  }

  /** Whether `secret` is the admin token in use now (by digest, compared in constant time). */
  isAdminSecret(secret: string): boolean {
    if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return false;
    const digest = tokenDigest(secret);
    const hit = this.byDigest.get(digest);
    return hit !== undefined && hit.record.kind === 'admin' && digestsEqual(hit.record.hash, digest);
  }

  /** When the admin token in use was first installed (kept across restarts with the same token; doctor). */
  adminIssuedAt(): number | null {
    for (const { record } of this.byDigest.values()) if (record.kind === 'admin') return record.createdAt;
    return null;
  }

  /** Count of active, unexpired tokens holding admin without an expiry (doctor). */
  adminTokensWithoutExpiry(): TokenView[] {
    const out: TokenView[] = [];
    for (const { record } of this.byDigest.values()) {
      if (record.kind === 'token' && record.expiresAt === null && record.scopes.includes('admin')) out.push(tokenView(record));
    }
    return out;
  }
}
