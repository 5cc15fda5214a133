/**
 * Console sessions: made by trading a console pairing code (digits or sign-in link), verified on
 * every cookie request, ended by sign-out, revocation, an admin-token rotation, the idle timeout or
 * the absolute lifetime. Live sessions are held in memory by the SHA-256 of their cookie (one hash
 * and one map lookup per request, like tokens); the database keeps the hash, scopes, times and the
 * client address, never the cookie. last-used times are written in batches.
 */
import { GatewayError } from '../../errors.js';
import type { AuditSink } from '../../audit/event.js';
import type { Logger } from '../../observe/logger.js';
import type { Principal } from '../../crypto/principal.js';
import { generateSessionSecret } from '../../crypto/session-cookie.js';
import { digestsEqual, randomId, tokenDigest } from '../../crypto/tokens.js';
import type { SessionRecord, SessionStore } from '../../store/types.js';
import type { TokenService } from './tokens.js';
import type { Actor } from '../../api/actor.js';

export interface SessionView {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string;
  /** The absolute end: sign-in + console.sessionMaxAgeSeconds. */
  expiresAt: string;
  /** When it ends if no request comes before: last use + console.sessionIdleSeconds (never after expiresAt). */
  idleExpiresAt: string;
  client: string;
}

export interface SessionLimits {
  idleSeconds: number;
  maxAgeSeconds: number;
}

/** Why a session stopped working: an open event stream of it ends with the same reason. */
export type SessionEnd = 'signed_out' | 'revoked' | 'rotated' | 'expired';

export const SESSION_ID_PREFIX = 'ses';

interface Live {
  record: SessionRecord;
  principal: Principal;
}

const LAST_USED_RESOLUTION_MS = 1000;
const FLUSH_EVERY_MS = 5000;
const SWEEP_EVERY_MS = 60_000;

export interface SessionServiceOptions {
  store: SessionStore;
  audit: AuditSink;
  log: Logger;
  limits: () => SessionLimits;
  /** Told when the admin token is rotated: every session ends with it. */
  tokens: Pick<TokenService, 'onEnded'>;
  now?: () => number;
}

export class SessionService {
  private readonly byDigest = new Map<string, Live>();
  private readonly byId = new Map<string, Live>();
  private readonly dirty = new Map<string, number>();
  private readonly endListeners = new Set<(id: string, reason: SessionEnd) => void>();
  private readonly now: () => number;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: SessionServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Loads the sessions that are still live; those that ended while no gateway ran are deleted. */
  start(): void {
    for (const r of this.opts.store.list()) this.cache(r);
    this.sweep();
    // A rotated admin token is the operator's way to shut every door at once: sessions too.
    this.unsubscribe = this.opts.tokens.onEnded((id, reason) => {
      if (id === 'admin' && reason === 'rotated') this.endAll();
    });
    const flush = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    const sweep = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    flush.unref();
    sweep.unref();
    this.timers = [flush, sweep];
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.flush();
  }

  private cache(r: SessionRecord): void {
    const principal: Principal = Object.freeze({ id: r.id, name: r.name, kind: 'session', scopes: new Set(r.scopes) });
    const live = { record: r, principal };
    this.byDigest.set(r.hash, live);
    this.byId.set(r.id, live);
  }

  private idleEnd(r: SessionRecord): number {
    return Math.min(r.expiresAt, r.lastUsedAt + this.opts.limits().idleSeconds * 1000);
  }

  private alive(r: SessionRecord, now: number): boolean {
    return now < this.idleEnd(r);
  }

  /** A new session for `client`; the cookie value is returned once and only its hash is kept. */
  create(
    input: { name: string; scopes: string[] },
    client: string,
    via: { pairingId: string; createdBy: string | null; code: 'digits' | 'link' },
  ): { secret: string; view: SessionView } {
    const now = this.now();
    const secret = generateSessionSecret();
    const record: SessionRecord = {
      id: randomId(SESSION_ID_PREFIX),
      hash: tokenDigest(secret),
      name: input.name,
      scopes: [...input.scopes],
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + this.opts.limits().maxAgeSeconds * 1000,
      client,
    };
    this.opts.store.insert(record);
    this.cache(record);
    this.opts.audit.record({
      type: 'session.created',
      outcome: 'ok',
      actor: { id: record.id, name: record.name },
      client,
      detail: {
        sessionId: record.id,
        scopes: record.scopes,
        pairingId: via.pairingId,
        mintedBy: via.createdBy,
        code: via.code,
        expiresAt: new Date(record.expiresAt).toISOString(),
      },
    });
    return { secret, view: this.viewOf(record) };
  }

  /** The hot path: one map lookup, a constant-time compare, the idle and absolute ends (the caller hashed). */
  verifyDigest(digest: string, now: number): Principal | null {
    const hit = this.byDigest.get(digest);
    if (hit === undefined || !digestsEqual(hit.record.hash, digest)) return null;
    const r = hit.record;
    if (!this.alive(r, now)) {
      this.end(r.id, 'expired', { reason: now >= r.expiresAt ? 'max_age' : 'idle' });
      return null;
    }
    if (now - r.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      r.lastUsedAt = now;
      this.dirty.set(r.id, now);
    }
    return hit.principal;
  }

  /** Whether the session with this id works now (an open event stream checks the session it came in with). */
  isActive(id: string): boolean {
    const live = this.byId.get(id);
    return live !== undefined && this.alive(live.record, this.now());
  }

  list(): SessionView[] {
    const now = this.now();
    return [...this.byId.values()].filter((l) => this.alive(l.record, now)).map((l) => this.viewOf(l.record));
  }

  view(id: string): SessionView | undefined {
    const live = this.byId.get(id);
    return live && this.alive(live.record, this.now()) ? this.viewOf(live.record) : undefined;
  }

  /** An admin ends another session (DELETE /api/v1/sessions/{id}). */
  revoke(id: string, actor: Actor): void {
    const live = this.byId.get(id);
    if (!live || !this.alive(live.record, this.now())) throw new GatewayError('not_found', `no live session ${JSON.stringify(id)}`);
    this.end(id, 'revoked', {}, actor);
  }

  /** The session signs itself out (DELETE /api/v1/console/session). */
  signOut(id: string, client: string): void {
    const live = this.byId.get(id);
    if (!live) return;
    this.end(id, 'signed_out', {}, { id, name: live.record.name }, client);
  }

  /** Calls `fn` with the id of each session that ends, and why; returns the unsubscribe. */
  onEnded(fn: (id: string, reason: SessionEnd) => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  private endAll(): void {
    const ids = this.opts.store.deleteAll();
    for (const id of new Set([...ids, ...this.byId.keys()])) this.forget(id, 'rotated');
    if (ids.length > 0) this.opts.audit.record({ type: 'session.revoked', outcome: 'ok', detail: { reason: 'admin_token_rotated', sessions: ids.length } });
  }

  /** Deletes the sessions whose idle or absolute end has passed (also ends their open streams). */
  sweep(): void {
    const now = this.now();
    for (const live of [...this.byId.values()]) {
      const r = live.record;
      if (!this.alive(r, now)) this.end(r.id, 'expired', { reason: now >= r.expiresAt ? 'max_age' : 'idle' });
    }
  }

  private end(id: string, reason: SessionEnd, detail: Record<string, unknown>, actor?: Actor, client?: string): void {
    const live = this.byId.get(id);
    this.opts.store.delete(id);
    this.dirty.delete(id);
    this.forget(id, reason);
    const type = reason === 'signed_out' ? 'session.signed_out' : reason === 'expired' ? 'session.expired' : 'session.revoked';
    this.opts.audit.record({ type, outcome: 'ok', actor, client, detail: { sessionId: id, name: live?.record.name, ...detail } });
  }

  private forget(id: string, reason: SessionEnd): void {
    const live = this.byId.get(id);
    if (live) {
      this.byId.delete(id);
      this.byDigest.delete(live.record.hash);
    }
    for (const fn of [...this.endListeners]) {
      try {
        fn(id, reason);
      } catch (err) {
        this.opts.log.warn({ err, sessionId: id }, 'a listener failed on a session ending');
      }
    }
  }

  flush(): void {
    if (this.dirty.size === 0) return;
    const updates = [...this.dirty].map(([id, at]) => ({ id, at }));
    this.dirty.clear();
    try {
      this.opts.store.touchLastUsed(updates);
    } catch (err) {
      this.opts.log.warn({ err }, 'could not record session last-used times');
    }
  }

  private viewOf(r: SessionRecord): SessionView {
    return {
      id: r.id,
      name: r.name,
      scopes: r.scopes,
      createdAt: new Date(r.createdAt).toISOString(),
      lastUsedAt: new Date(r.lastUsedAt).toISOString(),
      expiresAt: new Date(r.expiresAt).toISOString(),
      idleExpiresAt: new Date(this.idleEnd(r)).toISOString(),
      client: r.client,
    };
  }

  /** Seconds of the idle timeout (GET /api/v1/me). */
  get idleTimeoutSeconds(): number {
    return this.opts.limits().idleSeconds;
  }
}
