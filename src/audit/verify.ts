/**
 * Walks the audit chain across rotated files and reports the first broken link with its file and
 * line: an edited, deleted or reordered entry, a removed or renamed file. Pruned files are not a
 * break (each rotation records where the kept chain starts); removing the oldest kept file is. A
 * partial last line (a crash mid-write) is noted, not a break. The last entry has no successor to
 * vouch for it: only a running gateway's head can show that the tail was cut or edited. Reads only.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CURRENT_FILE, GENESIS, chainOrder, firstSeqOfName, lineHash, rotatedName, type Anchor } from './chain.js';
import { forEachLine } from './lines.js';
import type { ChainHead } from './writer.js';

export interface VerifyResult {
  ok: boolean;
  files: string[];
  entries: number;
  firstSeq: number;
  lastSeq: number;
  /** Hash of the last complete entry. */
  lastHash: string;
  /** Where the kept chain starts, from the newest rotation record (seq 1 and 64 zeros before any). */
  anchor: Anchor;
  broken?: { file: string; line: number; reason: string };
  partialTail?: { file: string; line: number; bytes: number };
  /** Whether the files were compared with a running gateway's head. */
  headChecked: boolean;
  notes: string[];
}

interface Place {
  seq: number;
  hash: string;
  file: string;
  line: number;
}

export async function verifyAudit(dir: string, opts: { head?: ChainHead } = {}): Promise<VerifyResult> {
  const names = chainOrder(await readdir(dir).catch(() => [] as string[]));
  const head = opts.head;
  const result: VerifyResult = { ok: true, files: names, entries: 0, firstSeq: 0, lastSeq: 0, lastHash: GENESIS, anchor: { seq: 1, prev: GENESIS }, headChecked: head !== undefined, notes: [] };
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ...result, ok: false, broken: { file, line, reason } });
  const starts = new Map<number, Place & { prev: string }>();
  let last: Place | undefined;
  let anchorAt: Place | undefined;
  let headSeen = false;

  for (const name of names) {
    let broken: VerifyResult['broken'];
    const bad = (line: number, reason: string) => {
      broken = { file: name, line, reason };
      return false;
    };
    const scan = await forEachLine(join(dir, name), (text, line) => {
      let e: { seq?: unknown; prev?: unknown; type?: unknown; detail?: { anchor?: Partial<Anchor> } };
      try {
        e = JSON.parse(text);
      } catch {
        return bad(line, 'not a JSON entry (edited or corrupted)');
      }
      if (!Number.isSafeInteger(e.seq) || typeof e.prev !== 'string') return bad(line, 'not an audit entry (no seq or prev)');
      const seq = e.seq as number;
      const hash = lineHash(text);
      if (line === 1) {
        const named = firstSeqOfName(name);
        if (named !== undefined && named !== seq) return bad(1, `the file is named for seq ${named} but starts at seq ${seq} (renamed)`);
        starts.set(seq, { seq, prev: e.prev, hash, file: name, line });
      }
      if (last === undefined) {
        result.firstSeq = seq;
      } else {
        const expect = last.seq + 1;
        if (e.prev !== last.hash) {
          if (seq === expect) {
            broken = { file: last.file, line: last.line, reason: `entry seq ${last.seq} was edited: its hash is not the prev recorded by the next entry (${name}:${line})` };
            return false;
          }
          if (seq > expect) {
            const file = line === 1 ? `; file ${rotatedName(expect)} may have been removed` : '';
            return bad(line, `seq ${seq} where ${expect} was expected: entries were deleted or reordered before this line${file}`);
          }
          return bad(line, `seq ${seq} after seq ${last.seq}: entries were reordered or duplicated`);
        }
        if (seq !== expect) return bad(line, `seq ${seq} where ${expect} was expected (the entry was edited)`);
      }
      if (head && seq === head.seq) {
        headSeen = true;
        if (hash !== head.hash) return bad(line, `entry seq ${seq} differs from what the running gateway wrote (the entry was edited)`);
      }
      const a = e.type === 'audit.rotated' ? e.detail?.anchor : undefined;
      if (a && Number.isSafeInteger(a.seq) && typeof a.prev === 'string') {
        result.anchor = { seq: a.seq as number, prev: a.prev };
        anchorAt = { seq, hash, file: name, line };
      }
      last = { seq, hash, file: name, line };
      result.entries++;
      result.lastSeq = seq;
      result.lastHash = hash;
      return true;
    });
    if (broken) return fail(broken.file, broken.line, broken.reason);
    if (scan.lines === 0 && name !== CURRENT_FILE) return fail(name, 1, 'a rotated file is empty');
    if (scan.partialBytes > 0) {
      if (name !== names[names.length - 1] || name !== CURRENT_FILE) return fail(name, scan.lines + 1, 'incomplete line inside the chain');
      result.partialTail = { file: name, line: scan.lines + 1, bytes: scan.partialBytes };
      result.notes.push(`ignored an incomplete last line (${name}:${scan.lines + 1}, ${scan.partialBytes} bytes), left by an unclean stop or a write in progress`);
    }
  }

  if (last !== undefined) {
    // The oldest kept entry must be where the newest rotation record says the kept chain starts:
    // otherwise the oldest kept file (or the start of the log) was removed.
    const { anchor } = result;
    const where = anchorAt ? ` (rotation record at ${anchorAt.file}:${anchorAt.line})` : '';
    const at = starts.get(anchor.seq);
    const firstFile = names[0] as string;
    if (result.firstSeq > anchor.seq) {
      const missing = anchor.seq === 1 ? 'the start of the log' : `file ${rotatedName(anchor.seq)}`;
      return fail(firstFile, 1, `the chain starts at seq ${result.firstSeq} but the kept log starts at seq ${anchor.seq}${where}: ${missing} was removed`);
    }
    if (at === undefined || at.prev !== anchor.prev) {
      return fail(at?.file ?? firstFile, 1, `no file starts where the kept log starts (seq ${anchor.seq})${where}: a file was replaced`);
    }
    if (result.firstSeq < anchor.seq) result.notes.push(`files before seq ${anchor.seq} were due to be pruned and are still present`);
  }
  if (head !== undefined && head.seq > 0 && !headSeen) {
    const file = names[names.length - 1] ?? CURRENT_FILE;
    const line = last && last.file === file ? last.line + 1 : 1;
    return fail(file, line, `the log ends at seq ${result.lastSeq} but the running gateway has written up to seq ${head.seq}: the tail was cut`);
  }
  if (head === undefined) result.notes.push('not compared with a running gateway: a cut or edited last entry cannot be seen in the files alone');
  return result;
}
