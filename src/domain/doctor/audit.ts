/**
 * Doctor checks of the record: the audit chains' integrity (walked across rotations, checked with
 * the chain key, against the head anchors and, with a running gateway, its heads), the chain key
 * file (outside the data dir, not readable by others) and the writer's health.
 */
import { statSync } from 'node:fs';
import { isInside, type AuditKeyPaths } from '../../audit/key.js';
import type { AuditKeyFacts, Check, Finding } from './types.js';

type Result = Omit<Finding, 'id'>;

const chain: Check = {
  id: 'audit.chain',
  needs: 'files',
  run(ctx): Result {
    const { verify, error } = ctx.audit;
    if (verify === null)
      return {
        severity: 'fail',
        finding: `the audit log could not be read: ${error ?? 'unknown error'}`,
        fix: 'check the audit directory and its permissions',
      };
    if (!verify.ok && verify.broken) {
      return {
        severity: 'fail',
        finding: `the audit chain is broken at ${verify.broken.file}:${verify.broken.line}: ${verify.broken.reason}`,
        fix: 'keep the files as they are for the investigation (docs/audit.md); moat audit verify shows the same',
      };
    }
    if (verify.entries === 0) return { severity: 'ok', finding: 'the audit log is empty', fix: 'none needed' };
    const against = verify.headChecked
      ? ", checked against the running gateway's head"
      : verify.anchors.newest !== null
        ? `, checked against the newest head anchor (seq ${verify.anchors.newest.seq}; later entries by their macs only)`
        : ' (files only: a cut tail shows only against a running gateway or an anchor)';
    const { keyedFrom, unkeyed } = verify.keyed;
    const keyed =
      keyedFrom === null
        ? ''
        : unkeyed
          ? `, keyed from seq ${keyedFrom} (seq ${unkeyed.firstSeq}..${unkeyed.lastSeq} written before keying)`
          : ', every entry keyed';
    const anchors = verify.anchors.checked > 0 ? `, ${verify.anchors.checked} anchor(s) match` : '';
    return {
      severity: 'ok',
      finding: `the audit chain holds ${verify.entries} entries in ${verify.files.length} file(s), seq ${verify.firstSeq}..${verify.lastSeq}${keyed}${anchors}, security log ${verify.security.entries} entries${against}`,
      fix: 'none needed',
    };
  },
};

const writer: Check = {
  id: 'audit.writer',
  needs: 'gateway',
  run(ctx): Result {
    const { backlog, dropped, maxQueue } = ctx.gateway!.auditWriter;
    if (dropped > 0) {
      return {
        severity: 'fail',
        finding: `${dropped} audit entries were dropped because the queue was full (the chain records how many)`,
        fix: 'find why the disk is slow or full; raise audit.maxQueue only if bursts are expected',
      };
    }
    if (backlog >= maxQueue) {
      return {
        severity: 'warn',
        finding: `the audit queue is full (${backlog} entries waiting): writes are refused with audit_backlog`,
        fix: 'check the disk under the data dir (space, latency)',
      };
    }
    return { severity: 'ok', finding: `the audit writer keeps up (${backlog} waiting, none dropped)`, fix: 'none needed' };
  },
};

/** The key file's mode and owner, and where it is (doctor reads the stat only, never the key). */
export function auditKeyFacts(paths: AuditKeyPaths, dataDir: string): AuditKeyFacts {
  let mode: number | null = null;
  let uid: number | null = null;
  let gid: number | null = null;
  try {
    const st = statSync(paths.keyFile);
    mode = st.mode & 0o777;
    uid = st.uid;
    gid = st.gid;
  } catch {
    // missing: judged below
  }
  return {
    path: paths.keyFile,
    anchorFile: paths.anchorFile,
    mode,
    uid,
    gid,
    ownUid: typeof process.getuid === 'function' ? process.getuid() : null,
    ownGid: typeof process.getgid === 'function' ? process.getgid() : null,
    insideDataDir: isInside(dataDir, paths.keyFile),
    anchorInsideDataDir: isInside(dataDir, paths.anchorFile),
  };
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

const key: Check = {
  id: 'audit.key',
  needs: 'files',
  run(ctx): Result {
    const k = ctx.auditKey;
    const move = 'move it outside the data dir and set audit.keyFile (MOAT_AUDIT_KEY_FILE) to it; docs/deployment.md';
    // Re-chaining: whoever can write the data dir must not be able to read (or replace) the key.
    if (k.insideDataDir)
      return {
        severity: 'fail',
        finding: `the audit chain key ${k.path} is inside the data dir: whoever can write the data dir can re-chain the log`,
        fix: move,
      };
    if (k.anchorInsideDataDir)
      return {
        severity: 'fail',
        finding: `the audit anchor file ${k.anchorFile} is inside the data dir: whoever can write the data dir can rewrite the anchors`,
        fix: 'set audit.anchorFile outside the data dir',
      };
    if (k.mode === null) {
      const keyed = ctx.audit.verify?.keyed.keyedFrom ?? null;
      if (ctx.gateway !== null || keyed !== null) {
        return {
          severity: 'fail',
          finding: `the audit chain key ${k.path} is missing: the keyed entries cannot be checked`,
          fix: 'restore the key from its backup before the next start (a new key would not check what the old one keyed)',
        };
      }
      return {
        severity: 'warn',
        finding: `no audit chain key at ${k.path} yet: the next start creates it`,
        fix: 'start the gateway, then back the key up (docs/deployment.md)',
      };
    }
    const where = `the audit chain key ${k.path} (mode ${octal(k.mode)}${k.uid !== null ? `, owner uid ${k.uid}` : ''})`;
    if ((k.mode & 0o007) !== 0)
      return { severity: 'fail', finding: `${where} is open to other users: they can read it and re-chain the log`, fix: `chmod 600 ${k.path}` };
    if ((k.mode & 0o020) !== 0) return { severity: 'fail', finding: `${where} is writable by its group`, fix: `chmod 600 ${k.path}` };
    if (k.ownUid !== null && k.uid !== null && k.uid !== k.ownUid && k.uid !== 0) {
      return {
        severity: 'fail',
        finding: `${where} belongs to another user, who can replace it`,
        fix: `chown it to the gateway's user (or root) and chmod 600 ${k.path}`,
      };
    }
    // Root-owned and readable by the gateway's own group (docs/deployment.md) is the tightest a service gets.
    if ((k.mode & 0o040) !== 0 && k.gid !== k.ownGid)
      return {
        severity: 'warn',
        finding: `${where} is readable by its group (gid ${k.gid})`,
        fix: `chmod 600 ${k.path}, or chgrp it to the gateway's own group`,
      };
    return { severity: 'ok', finding: `${where} is outside the data dir and readable by its owner only; anchors go to ${k.anchorFile}`, fix: 'none needed' };
  },
};

export const auditChecks: Check[] = [chain, key, writer];
