/** SQLite implementations of TokenStore and PairingStore. Parameterized statements, prepared once. */
import type { PairingKind, PairingRecord, PairingStore, TokenRecord, TokenStore } from '../types.js';
import type { Db } from './database.js';

interface TokenRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  kind: 'admin' | 'token';
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  created_by: string | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id,
  name: r.name,
  hash: r.hash,
  scopes: JSON.parse(r.scopes) as string[],
  kind: r.kind,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
  createdBy: r.created_by,
});

export function sqliteTokenStore(db: Db): TokenStore {
  const insert = db.prepare(
    `INSERT INTO tokens (id, name, hash, scopes, kind, created_at, expires_at, last_used_at, revoked_at, created_by)
     VALUES (@id, @name, @hash, @scopes, @kind, @createdAt, @expiresAt, @lastUsedAt, @revokedAt, @createdBy)`,
  );
  const active = db.prepare<[], TokenRow>('SELECT * FROM tokens WHERE revoked_at IS NULL ORDER BY created_at');
  const all = db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY created_at');
  const one = db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?');
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const upsertAdmin = db.prepare(
    `INSERT INTO tokens (id, name, hash, scopes, kind, created_at) VALUES ('admin', 'admin', @hash, '["admin"]', 'admin', @at)
     ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, revoked_at = NULL,
       created_at = CASE WHEN tokens.hash = excluded.hash THEN tokens.created_at ELSE excluded.created_at END`,
  );
  const touch = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  const touchMany = db.transaction((updates: ReadonlyArray<{ id: string; at: number }>) => {
    for (const u of updates) touch.run(u.at, u.id, u.at);
  });

  return {
    insert: (r) => void insert.run({ ...r, scopes: JSON.stringify(r.scopes) }),
    listActive: () => active.all().map(toToken),
    listAll: () => all.all().map(toToken),
    get: (id) => {
      const r = one.get(id);
      return r ? toToken(r) : undefined;
    },
    revoke: (id, at) => revoke.run(at, id).changes > 0,
    upsertAdmin: (hash, at) => void upsertAdmin.run({ hash, at }),
    touchLastUsed: (updates) => touchMany(updates),
  };
}

interface PairingRow {
  id: string;
  digest: string;
  name: string | null;
  scopes: string;
  token_ttl_seconds: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  created_by: string | null;
  console: number;
  link_digest: string | null;
}

export function sqlitePairingStore(db: Db): PairingStore {
  const insert = db.prepare(
    `INSERT INTO pairing_codes (id, digest, name, scopes, token_ttl_seconds, created_at, expires_at, used_at, created_by, console, link_digest)
     VALUES (@id, @digest, @name, @scopes, @tokenTtlSeconds, @createdAt, @expiresAt, @usedAt, @createdBy, @console, @linkDigest)`,
  );
  // Single use: the UPDATE claims the code atomically; a second redemption finds used_at set. A
  // console code is one row for its digits and its link code, so using either burns both.
  const consume = db.prepare<[{ now: number; digest: string; console: number }], PairingRow>(
    `UPDATE pairing_codes SET used_at = @now
      WHERE (digest = @digest OR link_digest = @digest) AND console = @console AND used_at IS NULL AND expires_at > @now RETURNING *`,
  );
  const live = db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM pairing_codes WHERE digest = ? AND used_at IS NULL AND expires_at > ?');
  const prune = db.prepare('DELETE FROM pairing_codes WHERE expires_at < @before OR (used_at IS NOT NULL AND used_at < @before)');
  const withdraw = db.prepare('DELETE FROM pairing_codes WHERE used_at IS NULL');
  const peek = db.prepare<[{ now: number; digest: string; console: number }], PairingRow>(
    'SELECT * FROM pairing_codes WHERE (digest = @digest OR link_digest = @digest) AND console = @console AND used_at IS NULL AND expires_at > @now',
  );
  const kindOf = (kind: PairingKind) => (kind === 'console' ? 1 : 0);
  const toPairing = (r: PairingRow | undefined): PairingRecord | undefined =>
    r
      ? {
          id: r.id,
          digest: r.digest,
          name: r.name,
          scopes: JSON.parse(r.scopes) as string[],
          tokenTtlSeconds: r.token_ttl_seconds,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
          usedAt: r.used_at,
          createdBy: r.created_by,
          console: r.console === 1,
          linkDigest: r.link_digest,
        }
      : undefined;
  return {
    insert: (r) => void insert.run({ ...r, scopes: JSON.stringify(r.scopes), console: r.console ? 1 : 0 }),
    consume: (digest, now, kind) => toPairing(consume.get({ now, digest, console: kindOf(kind) })),
    peek: (digest, now, kind) => toPairing(peek.get({ now, digest, console: kindOf(kind) })),
    isLive: (digest, now) => live.get(digest, now) !== undefined,
    prune: (before) => prune.run({ before }).changes,
    withdrawUnused: () => withdraw.run().changes,
  };
}
