/**
 * The data dir's names: every file and directory moat keeps in `--data-dir`, with the mode it is
 * created with and whether it is a secret, in one table (DESIGN.md "Data directory", the table in
 * docs/deployment.md, checked by test/unit/data-dir.test.ts). The gateway, the doctor, the CLI and
 * the client name the data dir through it. Imports node:path only.
 */
import { join } from 'node:path';

export interface DataDirEntry {
  /** Relative to the data dir, `/`-separated (`.` is the data dir itself). */
  readonly rel: string;
  readonly kind: 'file' | 'dir';
  /** The mode moat creates it with (`moat doctor` judges the mode on disk against it). */
  readonly mode: number;
  /** Readable by another user, it gives away a credential or what clients sent. */
  readonly secret: boolean;
  readonly what: string;
}

/** The live audit file of a chain directory; closed ones are `audit-<first seq>.jsonl`. */
export const AUDIT_CURRENT = 'audit.jsonl';
/** The security log's directory inside the audit directory. */
export const AUDIT_SECURITY = 'security';
/** A closed (rotated) audit file: read-only for good. */
export const ROTATED_AUDIT = /^audit-\d+\.jsonl$/;
export const ROTATED_AUDIT_MODE = 0o400;
/** A per-install key file in keys/ (`<name>.key`), a secret. */
export const KEY_FILE = /\.key$/;
export const KEY_MODE = 0o600;

export const DATA_DIR = {
  root: { rel: '.', kind: 'dir', mode: 0o700, secret: false, what: 'everything below' },
  adminToken: { rel: 'gateway-token', kind: 'file', mode: 0o600, secret: true, what: 'the admin token (unless one is supplied)' },
  configFile: { rel: 'moat.json', kind: 'file', mode: 0o600, secret: false, what: 'the config file read when no --config is given (moat init writes it)' },
  runtimeConfig: { rel: 'config.runtime.json', kind: 'file', mode: 0o600, secret: false, what: 'live-config overrides written by PATCH /api/v1/config' },
  gatewayFile: { rel: 'gateway.json', kind: 'file', mode: 0o600, secret: false, what: 'url, pid and TLS fingerprint of the running gateway (for clients)' },
  tlsDir: { rel: 'tls', kind: 'dir', mode: 0o700, secret: false, what: 'the self-signed certificate and its key' },
  tlsCert: { rel: 'tls/cert.pem', kind: 'file', mode: 0o644, secret: false, what: 'the self-signed certificate (clients may read it)' },
  tlsKey: { rel: 'tls/key.pem', kind: 'file', mode: 0o600, secret: true, what: "the self-signed certificate's key" },
  keysDir: { rel: 'keys', kind: 'dir', mode: 0o700, secret: false, what: 'per-install keys, one <name>.key each' },
  database: { rel: 'moat.db', kind: 'file', mode: 0o600, secret: true, what: 'SQLite: hashed tokens, services, jobs (payloads sealed), ...' },
  databaseWal: { rel: 'moat.db-wal', kind: 'file', mode: 0o600, secret: true, what: "the database's write-ahead log" },
  databaseShm: { rel: 'moat.db-shm', kind: 'file', mode: 0o600, secret: true, what: "the database's shared memory index" },
  auditDir: { rel: 'audit', kind: 'dir', mode: 0o700, secret: false, what: 'the keyed, hash-chained audit log' },
  auditFile: { rel: `audit/${AUDIT_CURRENT}`, kind: 'file', mode: 0o600, secret: false, what: 'its live file (closed ones are audit-<seq>.jsonl, 0400)' },
  securityAuditDir: { rel: `audit/${AUDIT_SECURITY}`, kind: 'dir', mode: 0o700, secret: false, what: 'the security log' },
  securityAuditFile: { rel: `audit/${AUDIT_SECURITY}/${AUDIT_CURRENT}`, kind: 'file', mode: 0o600, secret: false, what: 'its live file (closed ones 0400)' },
  workspaces: { rel: 'workspaces', kind: 'dir', mode: 0o700, secret: false, what: 'per-run workspaces, one 0700 directory each' },
  installId: {
    rel: 'install-id',
    kind: 'file',
    mode: 0o600,
    secret: false,
    what: "the install's id (not a secret): the moat.instance label of its containers",
  },
} as const satisfies Record<string, DataDirEntry>;

export type DataDirName = keyof typeof DATA_DIR;

/** What gateway.json holds: written by the running gateway, read by clients (its url and certificate pin) and by the next start. */
export interface GatewayFile {
  url: string;
  pid: number;
  /** SHA-256 fingerprint of the certificate served, null without TLS. */
  tlsFingerprint: string | null;
  startedAt: string;
}

export type DataDirPaths = { readonly [K in DataDirName]: string } & {
  /** keys/<name>.key */
  key(name: string): string;
};

/** The absolute path of every file and directory of `dataDir`, by name (see DATA_DIR for each one's mode). */
export function dataDirPaths(dataDir: string): DataDirPaths {
  const out: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(DATA_DIR)) out[name] = e.rel === '.' ? dataDir : join(dataDir, ...e.rel.split('/'));
  out.key = (name: string) => join(dataDir, DATA_DIR.keysDir.rel, `${name}.key`);
  return out as DataDirPaths;
}
