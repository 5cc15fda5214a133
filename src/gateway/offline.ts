/**
 * Work on a data dir without a running gateway (moat audit verify, moat doctor with nothing
 * answering) and the facts of gateway.json: which process serves a data dir. Files only.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainHead } from '../audit/chain.js';
import { auditKeyPaths, loadChainKey, loadOrCreateChainKey, type AuditKeyPaths } from '../audit/key.js';
import type { RecordVerifyResult } from '../audit/record.js';
import { loadConfig } from '../config/load.js';
import { Doctor, type FixReport } from '../domain/doctor/index.js';
import { loadOrCreateAdminToken } from '../domain/identity/admin-token.js';
import { GatewayError } from '../errors.js';
import { RENEW_WITHIN_DAYS, certificateNames, namesOfCertificate, reissueSelfSigned } from '../http/tls.js';
import { readIfExists } from '../store/files.js';
import { verifyDataDir } from './record.js';
import { DATA_DIR, dataDirPaths, type GatewayFile } from '../api/data-dir.js';

export const GATEWAY_FILE = DATA_DIR.gatewayFile.rel;

export interface OfflineAuditInput {
  /** A config file (--config, MOAT_CONFIG) whose audit.keyFile / audit.anchorFile count. */
  configFile?: string | undefined;
  /** --audit-key-file, --audit-anchor-file. */
  keyFile?: string | undefined;
  anchorFile?: string | undefined;
  /** The environment (MOAT_AUDIT_KEY_FILE, MOAT_AUDIT_ANCHOR_FILE are read; nothing else). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The chain key and anchor file an offline command uses: flags < env < config file < defaults, as `moat serve` resolves them. */
export function offlineAuditPaths(input: OfflineAuditInput = {}): AuditKeyPaths {
  const env = input.env ?? {};
  const only = { MOAT_AUDIT_KEY_FILE: env['MOAT_AUDIT_KEY_FILE'], MOAT_AUDIT_ANCHOR_FILE: env['MOAT_AUDIT_ANCHOR_FILE'] };
  const flags = { 'audit-key-file': input.keyFile, 'audit-anchor-file': input.anchorFile };
  const { config } = loadConfig({ ...(input.configFile ? { file: input.configFile } : {}), env: only, flags });
  return auditKeyPaths(config.audit);
}

/**
 * `moat audit key`: the chain key's file, id and anchor public key; with `create`, makes the key
 * when there is none (as the first start would), so that an install can set its owner and mode.
 */
export function auditKeyInfo(
  paths: AuditKeyPaths,
  create: boolean,
): { keyFile: string; anchorFile: string; exists: boolean; created: boolean; id: string | null; publicKey: string | null } {
  const made = create ? loadOrCreateChainKey(paths.keyFile) : null;
  const key = made?.key ?? loadChainKey(paths.keyFile);
  return { ...paths, exists: key !== null, created: made?.created ?? false, id: key?.id ?? null, publicKey: key?.publicKey ?? null };
}

/** Walks both audit chains of a data dir (moat audit verify) with the key and anchors, against a running gateway's heads if given. */
export function verifyAuditDir(
  dataDir: string,
  paths: AuditKeyPaths,
  head?: { main: ChainHead; security: ChainHead },
  laterHead?: () => Promise<{ main: ChainHead; security: ChainHead } | undefined>,
): Promise<RecordVerifyResult> {
  return verifyDataDir(dataDir, paths, head, laterHead);
}

/** The pid <dataDir>/gateway.json names, or null when the file is missing or unreadable. */
export function gatewayFilePid(dataDir: string): number | null {
  try {
    const pid = (JSON.parse(readIfExists(join(dataDir, GATEWAY_FILE)) ?? 'null') as Partial<GatewayFile> | null)?.pid;
    return typeof pid === 'number' ? pid : null;
  } catch {
    return null;
  }
}

/** The pid in <dataDir>/gateway.json if that process is alive (a gateway serves the data dir). */
export function runningGatewayPid(dataDir: string): number | null {
  const pid = gatewayFilePid(dataDir);
  if (pid === null) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** One gateway per data dir: a live pid in gateway.json (not ours) means another one is serving it. */
export function refuseSecondGateway(dataDir: string): void {
  const pid = runningGatewayPid(dataDir);
  if (pid === null || pid === process.pid) return;
  throw new GatewayError('config_invalid', `another gateway (pid ${pid}) is serving ${dataDir}; stop it or use another --data-dir`);
}

/**
 * moat doctor with no gateway answering: the checks the data dir can answer (modes, the token file,
 * the self-signed certificate, the audit chain) and, with `fix`, their repairs. While a gateway
 * still serves the data dir the token file is left to it (a new token would not be one it knows).
 */
export async function doctorOffline(dataDir: string, opts: { fix: boolean; auditPaths?: AuditKeyPaths }): Promise<FixReport> {
  const live = runningGatewayPid(dataDir);
  const doctor = new Doctor({
    dataDir,
    auditPaths: opts.auditPaths ?? offlineAuditPaths(),
    now: Date.now,
    renewWithinDays: RENEW_WITHIN_DAYS,
    running: null,
    repairs: {
      replaceTokenFile: () => {
        if (live !== null)
          throw new GatewayError('conflict', `a gateway (pid ${live}) serves this data dir: restart it (it replaces a malformed token file at boot)`);
        loadOrCreateAdminToken(dataDir);
        return 'wrote a new admin token to gateway-token (the malformed one is gone)';
      },
      reissueCertificate: () => {
        const pem = readIfExists(dataDirPaths(dataDir).tlsCert);
        const names = pem === undefined ? certificateNames('127.0.0.1', []) : namesOfCertificate(pem);
        const m = reissueSelfSigned(dataDir, names);
        const restart = live !== null ? '; restart moat to serve it' : '';
        return `issued a new self-signed certificate for ${names.join(', ')} (valid until ${m.validTo.toISOString().slice(0, 10)}, SHA-256 ${m.fingerprint})${restart}`;
      },
    },
  });
  return opts.fix ? doctor.fix() : { actions: [], report: await doctor.run() };
}

/** Mode bits of a path, or null if it does not exist (for doctor and tests). */
export function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
