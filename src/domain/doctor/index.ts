/**
 * moat doctor: gathers a snapshot of facts (from a running gateway, or from the data dir alone),
 * runs every named check on it, and repairs what is safe to repair (file modes, a malformed token
 * file, an expiring self-signed certificate), listing each action. Never changes configuration.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadChainKey } from '../../audit/key.js';
import { verifyRecord } from '../../audit/record.js';
import { CREDENTIAL_FAILURE_CODES } from '../../observe/counters.js';
import { isWellFormedToken } from '../../crypto/tokens.js';
import { activityChecks } from './activity.js';
import { auditChecks, auditKeyFacts } from './audit.js';
import { containerChecks } from './containers.js';
import { fileChecks, gatherModes, repairModes } from './files.js';
import { certificateDue, postureChecks } from './posture.js';
import { policyChecks } from './policy.js';
import { tokenChecks, tokenStrength } from './tokens.js';
import type {
  CertificateFacts,
  Check,
  DoctorContext,
  DoctorReport,
  DoctorSources,
  FixAction,
  FixReport,
  GatewayFacts,
  Severity,
  TokenFileState,
} from './types.js';
import { AUDIT_CURRENT, AUDIT_SECURITY, DATA_DIR, ROTATED_AUDIT, dataDirPaths } from '../../api/data-dir.js';

export type { DoctorReport, DoctorSources, Finding, FixAction, FixReport, Repairs, RunningSources, Severity } from './types.js';
export { tokenStrength } from './tokens.js';

/** Every check, in the order they are reported: posture, credentials, files, policy, the record, activity. */
export const CHECKS: readonly Check[] = [
  ...postureChecks,
  ...tokenChecks,
  ...fileChecks,
  ...policyChecks,
  ...containerChecks,
  ...auditChecks,
  ...activityChecks,
];

const RANK: Record<Severity, number> = { ok: 0, warn: 1, fail: 2 };
const GENERATED = { strong: true, bits: 256, problem: null, weak: false } as const;

export function worst(severities: Iterable<Severity>): Severity {
  let out: Severity = 'ok';
  for (const s of severities) if (RANK[s] > RANK[out]) out = s;
  return out;
}

export function severityRank(s: Severity): number {
  return RANK[s];
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A file of the audit chain that is not a regular file (a FIFO, a device, a symbolic link), or null.
 * Reading such a thing could block the heartbeat forever or read something else than the log.
 */
function irregularAuditFile(auditDir: string, label: string = DATA_DIR.auditDir.rel): string | null {
  let names: string[];
  try {
    names = readdirSync(auditDir);
  } catch {
    return null;
  }
  for (const name of names) {
    if (name !== AUDIT_CURRENT && !ROTATED_AUDIT.test(name)) continue;
    try {
      const st = lstatSync(join(auditDir, name));
      if (!st.isFile())
        return `${label}/${name} is not a regular file (${st.isSymbolicLink() ? 'a symbolic link' : st.isFIFO() ? 'a FIFO' : 'a special file'})`;
    } catch {
      // gone meanwhile (a rotation): the walk below sees what is there
    }
  }
  return label === DATA_DIR.auditDir.rel ? irregularAuditFile(join(auditDir, AUDIT_SECURITY), DATA_DIR.securityAuditDir.rel) : null;
}

function certificateOnDisk(dataDir: string): X509Certificate | null {
  const pem = readText(dataDirPaths(dataDir).tlsCert);
  if (pem === undefined) return null;
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

export class Doctor {
  constructor(private readonly sources: DoctorSources) {}

  /** The snapshot every check judges. */
  async gather(): Promise<DoctorContext> {
    const s = this.sources;
    const r = s.running;
    const now = s.now();
    const dataDir = s.dataDir;
    const config = r?.config();
    const admin = r?.adminToken();

    let tokenFile: TokenFileState;
    if (admin?.source === 'operator') {
      tokenFile = 'operator';
    } else {
      const text = readText(dataDirPaths(dataDir).adminToken)?.trim();
      if (text === undefined) tokenFile = 'missing';
      else if (!isWellFormedToken(text)) tokenFile = 'malformed';
      else if (r && !r.isAdminToken(text)) tokenFile = 'mismatch';
      else tokenFile = 'ok';
    }

    let certificate: CertificateFacts | null = null;
    const served = r?.tls() ?? null;
    const disk = served === null || served.selfSigned ? certificateOnDisk(dataDir) : null;
    if (served !== null) {
      const newerOnDisk = served.selfSigned && disk !== null && disk.fingerprint256 !== served.fingerprint;
      certificate = { selfSigned: served.selfSigned, validTo: served.validTo.getTime(), path: served.certPath, newerOnDisk };
    } else if (r === null && disk !== null) {
      certificate = { selfSigned: true, validTo: new Date(disk.validTo).getTime(), path: dataDirPaths(dataDir).tlsCert, newerOnDisk: false };
    }

    let audit: DoctorContext['audit'];
    const irregular = irregularAuditFile(dataDirPaths(dataDir).auditDir);
    if (irregular !== null) {
      audit = { verify: null, error: irregular };
    } else {
      try {
        const { keyFile, anchorFile } = s.auditPaths;
        audit = { verify: r ? await r.verifyAudit() : await verifyRecord({ dataDir, key: loadChainKey(keyFile), keyFile, anchorFile }), error: null };
      } catch (err) {
        audit = { verify: null, error: (err as { detail?: string }).detail ?? (err as NodeJS.ErrnoException).code ?? (err as Error).message };
      }
    }

    let gateway: GatewayFacts | null = null;
    if (r && config && admin) {
      const c = r.counters;
      gateway = {
        config,
        sources: r.sources(),
        posture: r.posture(),
        bind: r.bind(),
        startedAt: r.startedAt(),
        tlsMinVersion: r.tlsMinVersion,
        adminToken: {
          source: admin.source,
          origin: admin.origin,
          strength: admin.operatorToken === null ? GENERATED : tokenStrength(admin.operatorToken),
          issuedAt: admin.issuedAt,
        },
        adminTokensWithoutExpiry: r.adminTokensWithoutExpiry(),
        services: r.services(),
        sandbox: r.sandbox(),
        highRiskOpen: r.highRiskOpen(),
        activity: {
          authFailures24h: c.authFailures24h(now),
          credentialFailures24h: c.authFailures24h(now, CREDENTIAL_FAILURE_CODES),
          lockouts24h: c.lockouts.last24h(now),
          forwarded24h: c.forwarded.last24h(now),
          lastForwardedAt: c.lastForwardedAt,
        },
        auditWriter: r.auditWriter(),
        containers: (await r.containers?.()) ?? null,
        uid: process.getuid?.() ?? -1,
      };
    }

    let dataDirExists = false;
    try {
      dataDirExists = existsSync(dataDir) && statSync(dataDir).isDirectory();
    } catch {
      dataDirExists = false;
    }
    const auditKey = auditKeyFacts(s.auditPaths, dataDir);
    return {
      now,
      dataDir,
      dataDirExists,
      modes: gatherModes(dataDir, config?.tls.key),
      tokenFile,
      certificate,
      renewWithinDays: s.renewWithinDays,
      audit,
      auditKey,
      gateway,
    };
  }

  /** Runs every check that the snapshot can answer; the others are listed as skipped. */
  judge(ctx: DoctorContext): DoctorReport {
    const checks: DoctorReport['checks'] = [];
    const skipped: DoctorReport['skipped'] = [];
    for (const check of CHECKS) {
      if (check.needs === 'gateway' && ctx.gateway === null) {
        skipped.push({ id: check.id, reason: 'needs a running gateway' });
        continue;
      }
      const result = check.run(ctx);
      checks.push({ id: check.id, ...result, ...(result.severity === 'ok' ? { fixable: false } : { fixable: result.fixable === true }) });
    }
    return { verdict: worst(checks.map((c) => c.severity)), checkedAt: new Date(ctx.now).toISOString(), running: ctx.gateway !== null, checks, skipped };
  }

  async run(): Promise<DoctorReport> {
    return this.judge(await this.gather());
  }

  /** Repairs what is safe to repair, then checks again. Each action is listed, done or not. */
  async fix(): Promise<FixReport> {
    const ctx = await this.gather();
    const before = this.judge(ctx);
    const needs = (id: string) => before.checks.some((c) => c.id === id && c.severity !== 'ok' && c.fixable === true);
    const actions: FixAction[] = [...repairModes(ctx)];
    const attempt = (id: string, repair: () => string) => {
      try {
        actions.push({ id, action: repair(), ok: true });
      } catch (err) {
        actions.push({ id, action: `could not repair: ${(err as { detail?: string }).detail ?? (err as Error).message}`, ok: false });
      }
    };
    if (needs('admin-token.file')) attempt('admin-token.file', () => this.sources.repairs.replaceTokenFile());
    if (needs('tls.expiry') && certificateDue(ctx)) attempt('tls.expiry', () => this.sources.repairs.reissueCertificate());
    return { actions, report: await this.run() };
  }
}
