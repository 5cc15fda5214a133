/**
 * The record at boot: finds the chain key and the anchor file (outside the data dir, refused
 * inside), creates the key on first start, starts both chains and reads the last 24 h of refusals
 * back into the door counters. Also what the offline commands need to check a data dir's record.
 */
import { dataDirPaths } from '../api/data-dir.js';
import type { HeadAnchor } from '../audit/anchors.js';
import { auditKeyPaths, loadChainKey, loadOrCreateChainKey, refuseInsideDataDir, type AuditKeyPaths } from '../audit/key.js';
import { AuditRecord, verifyRecord, type RecordVerifyResult } from '../audit/record.js';
import { replayRecent } from '../audit/replay.js';
import type { ChainHead } from '../audit/chain.js';
import type { BootConfig } from '../config/live.js';
import { RESTORED_AUDIT_TYPES, type DoorCounters } from '../observe/counters.js';
import type { Logger } from '../observe/logger.js';

const DAY_MS = 86_400_000;

export interface RecordContext {
  config: BootConfig;
  log: Logger;
  now: () => number;
  counters: DoorCounters;
  /** Sends an anchor to the notifier; null until the house (and its egress guard) is up. */
  notify: () => ((anchor: HeadAnchor) => Promise<void>) | null;
}

/** The key and anchor paths of a configuration, refused when inside the data dir. */
export function recordPaths(config: Pick<BootConfig, 'audit' | 'dataDir'>): AuditKeyPaths {
  const paths = auditKeyPaths(config.audit);
  refuseInsideDataDir(paths.keyFile, config.dataDir, 'audit.keyFile');
  refuseInsideDataDir(paths.anchorFile, config.dataDir, 'audit.anchorFile');
  return paths;
}

export async function openRecord(ctx: RecordContext): Promise<AuditRecord> {
  const { config, log, now } = ctx;
  const paths = recordPaths(config);
  const { key, created } = loadOrCreateChainKey(paths.keyFile);
  const a = config.audit;
  const record = new AuditRecord({
    dir: dataDirPaths(config.dataDir).auditDir,
    dataDir: config.dataDir,
    key,
    keyFile: paths.keyFile,
    keyCreated: created,
    anchorFile: paths.anchorFile,
    rotateBytes: a.rotateBytes,
    keep: a.keep,
    securityKeep: a.securityKeep,
    maxQueue: a.maxQueue,
    refusalWindowMs: a.refusalWindow * 1000,
    refusalMaxKeys: a.refusalClients,
    anchorIntervalMs: a.anchorInterval * 1000,
    log,
    now,
    notify: a.anchorNotify ? (anchor) => ctx.notify()?.(anchor) ?? Promise.resolve() : undefined,
  });
  await record.start();
  // Doctor and the heartbeat count the last 24 h: a restart must not reset them to zero.
  const t = now();
  await replayRecent(dataDirPaths(config.dataDir).auditDir, t - DAY_MS, RESTORED_AUDIT_TYPES, (e) => ctx.counters.restore(e.type, e.code, e.at, e.count)).catch(
    (err: unknown) => log.warn({ err }, 'could not read the last 24 h of refusals back from the audit log'),
  );
  return record;
}

/** Both chains of a data dir checked with its key and anchors, without a running gateway (or against its heads). */
export async function verifyDataDir(
  dataDir: string,
  paths: AuditKeyPaths,
  head?: { main: ChainHead; security: ChainHead },
  laterHead?: () => Promise<{ main: ChainHead; security: ChainHead } | undefined>,
): Promise<RecordVerifyResult> {
  const key = loadChainKey(paths.keyFile);
  return verifyRecord({ dataDir, key, keyFile: paths.keyFile, anchorFile: paths.anchorFile, head, laterHead });
}
