/**
 * The shapes of moat doctor: a check's finding, the snapshot of facts checks judge (DoctorContext),
 * and the ports the gateway provides to gather those facts and to repair. Types only.
 */
import type { AuditKeyPaths } from '../../audit/key.js';
import type { RecordVerifyResult } from '../../audit/record.js';
import type { BootPosture } from '../../config/bind.js';
import type { ConfigSource } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import type { DoorCounters } from '../../observe/counters.js';
import type { EngineFacts } from '../supervisor/containers.js';
import type { Actor } from '../../api/actor.js';

export type Severity = 'ok' | 'warn' | 'fail';
export const SEVERITIES: readonly Severity[] = ['ok', 'warn', 'fail'];

/** What one check found: a one-line finding and the fix (what to do, or that nothing is needed). */
export interface Finding {
  id: string;
  severity: Severity;
  finding: string;
  fix: string;
  /** `moat doctor --fix` repairs it (only set on warn or fail). */
  fixable?: boolean;
}

export interface FixAction {
  id: string;
  /** What was done, in one line. */
  action: string;
  ok: boolean;
}

export interface DoctorReport {
  verdict: Severity;
  checkedAt: string;
  /** False when the checks ran on the data dir alone (no gateway running). */
  running: boolean;
  checks: Array<Finding & { fixable: boolean }>;
  /** Checks that could not run here, and why (e.g. they need a running gateway). */
  skipped: Array<{ id: string; reason: string }>;
}

export interface FixReport {
  actions: FixAction[];
  report: DoctorReport;
}

/** A mode of a path in the data dir, with what it should be. */
export interface ModeFact {
  /** The check it belongs to (mode.token-file, ...). */
  check: string;
  /** As shown: relative to the data dir, or absolute outside it. */
  label: string;
  path: string;
  kind: 'dir' | 'file';
  /** Mode bits, or null when the path does not exist. */
  mode: number | null;
  /** The widest acceptable mode, and what --fix sets. */
  expected: number;
  /** Readable by others leaks a secret (fail) rather than information (warn). */
  secret: boolean;
  /** --fix may chmod it (false for the operator's own files outside the data dir). */
  fixable: boolean;
}

export type TokenFileState = 'ok' | 'missing' | 'malformed' | 'mismatch' | 'operator';

export interface CertificateFacts {
  selfSigned: boolean;
  validTo: number;
  /** Where it was read from (the served material, or the file when no gateway runs). */
  path: string;
  /** The file on disk is another certificate than the one served (reissued; a restart serves it). */
  newerOnDisk: boolean;
}

export interface TokenStrength {
  strong: boolean;
  /** Rough entropy estimate in bits (length x log2 of the character classes used). */
  bits: number;
  /** Why not strong, when not. */
  problem: string | null;
  /** Too weak to keep (fail rather than warn). */
  weak: boolean;
}

/** Facts only a running gateway has. */
export interface GatewayFacts {
  config: Readonly<Config>;
  sources: ReadonlyMap<string, ConfigSource>;
  posture: BootPosture;
  /** host:port as bound. */
  bind: string;
  startedAt: number;
  tlsMinVersion: string;
  /** `origin` names where an operator's token was given (`--admin-token`, `MOAT_ADMIN_TOKEN`, `auth.token in the config file`). */
  adminToken: { source: 'file' | 'operator'; origin: string | null; strength: TokenStrength; issuedAt: number | null };
  adminTokensWithoutExpiry: ReadonlyArray<Actor>;
  services: ReadonlyArray<{ name: string; baseUrl: string }>;
  sandbox: { available: boolean; reason: string | null };
  /** High-risk tools opened by tools.allow (and not denied). */
  highRiskOpen: readonly string[];
  activity: { authFailures24h: number; credentialFailures24h: number; lockouts24h: number; forwarded24h: number; lastForwardedAt: number | null };
  auditWriter: { backlog: number; dropped: number; maxQueue: number };
  /** The container engine, when a container service is declared (null or absent otherwise). */
  containers?: EngineFacts | null;
  /** moat's own uid (the engine socket's owner is judged against it). */
  uid?: number;
}

export interface DoctorContext {
  now: number;
  dataDir: string;
  dataDirExists: boolean;
  modes: ModeFact[];
  tokenFile: TokenFileState;
  certificate: CertificateFacts | null;
  /** Days before expiry at which a certificate is due for renewal (the self-signed one is reissued at boot). */
  renewWithinDays: number;
  audit: { verify: RecordVerifyResult | null; error: string | null };
  auditKey: AuditKeyFacts;
  gateway: GatewayFacts | null;
}

/** The audit chain key file: where it is, its mode and owner, and whether it sits in the data dir. */
export interface AuditKeyFacts {
  path: string;
  anchorFile: string;
  /** Mode bits and owner uid, null when the file does not exist. */
  mode: number | null;
  uid: number | null;
  gid: number | null;
  /** This process's uid and gid (null where the platform has none). */
  ownUid: number | null;
  ownGid: number | null;
  insideDataDir: boolean;
  anchorInsideDataDir: boolean;
}

/** One named check: a function of the snapshot. `needs: 'gateway'` checks are skipped offline. */
export interface Check {
  id: string;
  needs: 'gateway' | 'files';
  run(ctx: DoctorContext): Omit<Finding, 'id'>;
}

/** What the gateway (or the offline path) provides to gather facts. */
export interface RunningSources {
  config(): Readonly<Config>;
  sources(): ReadonlyMap<string, ConfigSource>;
  posture(): BootPosture;
  bind(): string;
  startedAt(): number;
  tlsMinVersion: string;
  /** Where the admin token comes from (and where an operator gave it), the operator's token (judged for strength, never shown), when it was issued. */
  adminToken(): { source: 'file' | 'operator'; origin: string | null; operatorToken: string | null; issuedAt: number | null };
  /** Whether `secret` is the admin token in use now (compared by digest). */
  isAdminToken(secret: string): boolean;
  adminTokensWithoutExpiry(): ReadonlyArray<Actor>;
  services(): ReadonlyArray<{ name: string; baseUrl: string }>;
  sandbox(): { available: boolean; reason: string | null };
  highRiskOpen(): readonly string[];
  counters: DoorCounters;
  /** The certificate being served, when TLS is on. */
  tls(): { selfSigned: boolean; validTo: Date; fingerprint: string; certPath: string; keyPath: string } | null;
  /** The audit chains checked against this gateway's heads and the anchors. */
  verifyAudit(): Promise<RecordVerifyResult>;
  auditWriter(): { backlog: number; dropped: number; maxQueue: number };
  /** The container engine's facts; null when no container service is declared. */
  containers?(): Promise<EngineFacts | null>;
}

/** Repairs that need more than a chmod. Each returns what it did, in one line. */
export interface Repairs {
  /** A malformed, missing or stale gateway-token: a new admin token (through rotation when running). */
  replaceTokenFile(): string;
  /** An expiring self-signed certificate: a new one in <dataDir>/tls/ (served after a restart when running). */
  reissueCertificate(): string;
}

export interface DoctorSources {
  dataDir: string;
  /** The audit chain key and the anchor file (outside the data dir). */
  auditPaths: AuditKeyPaths;
  now(): number;
  renewWithinDays: number;
  running: RunningSources | null;
  repairs: Repairs;
}
