/**
 * Store interfaces: plain records in and out. The domain depends on these, never on SQL; sqlite/
 * implements them (a postgres/ implementation for several replicas would implement the same).
 */

export interface TokenRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  scopes: string[];
  kind: 'admin' | 'token';
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdBy: string | null;
}

export interface TokenStore {
  insert(record: TokenRecord): void;
  /** Every token that is not revoked (expired ones included; the caller checks expiry). */
  listActive(): TokenRecord[];
  listAll(): TokenRecord[];
  get(id: string): TokenRecord | undefined;
  revoke(id: string, at: number): boolean;
  /** Replaces the admin token's hash (rotation or an operator-supplied token). */
  upsertAdmin(hash: string, at: number): void;
  touchLastUsed(updates: ReadonlyArray<{ id: string; at: number }>): void;
}

export interface PairingRecord {
  id: string;
  digest: string;
  name: string | null;
  scopes: string[];
  tokenTtlSeconds: number | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  createdBy: string | null;
}

export interface PairingStore {
  insert(record: PairingRecord): void;
  /** Marks the unused, unexpired code with this digest as used and returns it; undefined otherwise. */
  consume(digest: string, now: number): PairingRecord | undefined;
  /** Whether an unused, unexpired code has this digest. */
  isLive(digest: string, now: number): boolean;
  /** Deletes codes that expired or were used before `before`. */
  prune(before: number): number;
}

export interface RunRecord {
  id: string;
  /** Service this run is for, if any (a name; the service registry decides what it means). */
  service: string | null;
  /** The client's input, as JSON text (bounded by the route). */
  input: string | null;
  /** Names of operator mounts this run includes. */
  mounts: string[];
  /** Client-chosen root, relative to workspaces.clientScopeBase; null for a per-run workspace. */
  clientRoot: string | null;
  createdBy: string;
  createdAt: number;
}

export interface RunStore {
  insert(record: RunRecord): void;
  get(id: string): RunRecord | undefined;
  /** Newest first; only `createdBy`'s runs when given. */
  list(opts: { createdBy?: string | undefined; limit: number }): RunRecord[];
  delete(id: string): boolean;
}

/** A service registered through the API (config-file services are not stored). */
export interface ServiceRow {
  name: string;
  /** The service object as registered (JSON), defaults filled. */
  spec: unknown;
  createdAt: number;
  updatedAt: number;
  createdBy: string | null;
}

export interface ServiceStore {
  list(): ServiceRow[];
  get(name: string): ServiceRow | undefined;
  /** Inserts; false when the name is taken. */
  insert(row: ServiceRow): boolean;
  update(name: string, spec: unknown, at: number): boolean;
  delete(name: string): boolean;
}
