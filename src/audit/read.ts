/**
 * Reads audit entries in chain order by sequence number, across rotated files, for the API and
 * `moat audit tail`. Reading is not verifying: unreadable lines are skipped. Reads files only.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chainOrder, firstSeqOfName, parseLink } from './chain.js';
import type { AuditEntry } from './event.js';
import { forEachLine, readFirstLine } from './lines.js';
import { AUDIT_CURRENT } from '../api/data-dir.js';

/** A listing can race with a rotation (a file renamed or pruned under us): read again, at most this often. */
const ATTEMPTS = 3;

/** Entries with seq > after, oldest first, at most `limit`; from the oldest kept entry if `after` was pruned. */
export async function readAudit(dir: string, after: number, limit: number): Promise<AuditEntry[]> {
  let entries: AuditEntry[] = [];
  for (let i = 0; i < ATTEMPTS; i++) {
    const r = await readOnce(dir, after, limit);
    entries = r.entries;
    if (r.consistent) break;
  }
  return entries;
}

async function readOnce(dir: string, after: number, limit: number): Promise<{ entries: AuditEntry[]; consistent: boolean }> {
  let names: string[];
  try {
    names = chainOrder(await readdir(dir));
  } catch {
    return { entries: [], consistent: true };
  }
  const starts: Array<number | undefined> = names.map(firstSeqOfName);
  if (names[names.length - 1] === AUDIT_CURRENT) {
    const first = await readFirstLine(join(dir, AUDIT_CURRENT)).catch(() => undefined);
    starts[starts.length - 1] = first === undefined ? undefined : parseLink(first)?.seq;
  }
  const out: AuditEntry[] = [];
  let consistent = true;
  for (let i = 0; i < names.length && out.length < limit; i++) {
    // A file whose successor starts at or before after+1 holds nothing newer than `after`.
    const nextStart = starts[i + 1];
    if (nextStart !== undefined && nextStart <= after + 1) continue;
    try {
      await forEachLine(join(dir, names[i] as string), (text) => {
        let entry: AuditEntry;
        try {
          entry = JSON.parse(text) as AuditEntry;
        } catch {
          return true;
        }
        if (typeof entry.seq !== 'number' || entry.seq <= after) return true;
        // Entries must follow each other; a gap means a file moved under us (or was tampered with).
        const expected = out.length > 0 ? (out[out.length - 1] as AuditEntry).seq + 1 : after + 1;
        if (entry.seq !== expected && !(out.length === 0 && isOldestKept(i, starts, entry.seq))) consistent = false;
        out.push(entry);
        return out.length < limit;
      });
    } catch {
      consistent = false; // pruned or renamed between the listing and the read
    }
  }
  return { entries: out, consistent };
}

/** Whether `seq` starts the oldest file, i.e. the entries before it were pruned. */
function isOldestKept(i: number, starts: Array<number | undefined>, seq: number): boolean {
  return i === 0 && starts[0] === seq;
}
