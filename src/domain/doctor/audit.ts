/**
 * Doctor checks of the record: the audit chain's integrity (walked across rotations and, with a
 * running gateway, compared with its head) and the writer's health (dropped entries, a full queue).
 */
import type { Check, Finding } from './types.js';

type Result = Omit<Finding, 'id'>;

const chain: Check = {
  id: 'audit.chain',
  needs: 'files',
  run(ctx): Result {
    const { verify, error } = ctx.audit;
    if (verify === null) return { severity: 'fail', finding: `the audit log could not be read: ${error ?? 'unknown error'}`, fix: 'check the audit directory and its permissions' };
    if (!verify.ok && verify.broken) {
      return {
        severity: 'fail',
        finding: `the audit chain is broken at ${verify.broken.file}:${verify.broken.line}: ${verify.broken.reason}`,
        fix: 'keep the files as they are for the investigation (docs/audit.md); moat audit verify shows the same',
      };
    }
    if (verify.entries === 0) return { severity: 'ok', finding: 'the audit log is empty', fix: 'none needed' };
    const against = verify.headChecked ? ", checked against the running gateway's head" : ' (files only: a cut tail shows only against a running gateway)';
    return { severity: 'ok', finding: `the audit chain holds ${verify.entries} entries in ${verify.files.length} file(s), seq ${verify.firstSeq}..${verify.lastSeq}${against}`, fix: 'none needed' };
  },
};

const writer: Check = {
  id: 'audit.writer',
  needs: 'gateway',
  run(ctx): Result {
    const { backlog, dropped, maxQueue } = ctx.gateway!.auditWriter;
    if (dropped > 0) {
      return { severity: 'fail', finding: `${dropped} audit entries were dropped because the queue was full (the chain records how many)`, fix: 'find why the disk is slow or full; raise audit.maxQueue only if bursts are expected' };
    }
    if (backlog >= maxQueue) {
      return { severity: 'warn', finding: `the audit queue is full (${backlog} entries waiting): writes are refused with audit_backlog`, fix: 'check the disk under the data dir (space, latency)' };
    }
    return { severity: 'ok', finding: `the audit writer keeps up (${backlog} waiting, none dropped)`, fix: 'none needed' };
  },
};

export const auditChecks: Check[] = [chain, writer];
