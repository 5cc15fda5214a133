/**
 * Walks one audit chain across rotated files and reports the first broken link with its file and
 * line: an edited, deleted or reordered entry, a removed or renamed file, a line whose mac does not
 * verify under the chain key, an unkeyed line after keyed ones. Pruned files are not a break (each
 * rotation records where the kept chain starts); removing the oldest kept file is. A partial last
 * line (a crash mid-write) is noted, not a break. The end of the log is vouched for by the running
 * gateway's head and by the signed head anchors published outside the data dir. Reads only.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnchorPoint } from './anchors.js';
import { GENESIS, chainOrder, firstSeqOfName, lineHash, rotatedName, splitMac, type Anchor, type ChainHead } from './chain.js';

export type { ChainHead } from './chain.js';
import type { ChainKey } from './key.js';
import { forEachLine } from './lines.js';
import { AUDIT_CURRENT } from '../api/data-dir.js';

export interface VerifyResult {
  ok: boolean;
  files: string[];
  entries: number;
  firstSeq: number;
  lastSeq: number;
  /** Link (mac, or SHA-256 of a legacy line) of the last complete entry. */
  lastHash: string;
  /** Where the kept chain starts, from the newest rotation record (seq 1 and 64 zeros before any). */
  anchor: Anchor;
  broken?: { file: string; line: number; reason: string };
  partialTail?: { file: string; line: number; bytes: number };
  /** Whether the files were compared with a running gateway's head. */
  headChecked: boolean;
  /** Which entries carry a mac: from `keyedFrom` on; `unkeyed` is the legacy stretch before it. */
  keyed: { key: string | null; keyedFrom: number | null; unkeyed: { firstSeq: number; lastSeq: number } | null };
  /** Head anchors compared with the log: how many vouch for kept entries, and the newest. */
  anchors: { checked: number; newest: { seq: number; ts: string } | null };
  notes: string[];
}

export interface VerifyOptions {
  /** The running gateway's newest written entry: the files must hold exactly it. */
  head?: ChainHead;
  /** Asked after the walk: no entry may be newer than the gateway's head by then (appended by someone else). */
  laterHead?: () => Promise<ChainHead | undefined>;
  /** The chain key (null: not available; keyed lines cannot be checked). */
  key?: ChainKey | null;
  /** Where the key was looked for (named in findings). */
  keyFile?: string;
  /** This chain's head anchors, oldest first. */
  anchors?: readonly AnchorPoint[];
}

interface Place {
  seq: number;
  hash: string;
  file: string;
  line: number;
}

export async function verifyAudit(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const names = chainOrder(await readdir(dir).catch(() => [] as string[]));
  const { head } = opts;
  const key = opts.key ?? null;
  const keyName = opts.keyFile ?? 'audit.keyFile';
  const result: VerifyResult = {
    ok: true,
    files: names,
    entries: 0,
    firstSeq: 0,
    lastSeq: 0,
    lastHash: GENESIS,
    anchor: { seq: 1, prev: GENESIS },
    headChecked: head !== undefined,
    keyed: { key: key?.id ?? null, keyedFrom: null, unkeyed: null },
    anchors: { checked: 0, newest: null },
    notes: [],
  };
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ...result, ok: false, broken: { file, line, reason } });
  const starts = new Map<number, Place & { prev: string }>();
  const anchored = new Set((opts.anchors ?? []).map((a) => a.seq));
  const marks = new Map<number, Place>();
  let last: Place | undefined;
  let anchorAt: Place | undefined;
  let headSeen = false;
  let unchecked: Place | undefined;

  for (const name of names) {
    let broken: VerifyResult['broken'];
    const bad = (line: number, reason: string) => {
      broken = { file: name, line, reason };
      return false;
    };
    const scan = await forEachLine(join(dir, name), (text, line) => {
      let e: { seq?: unknown; prev?: unknown; type?: unknown; mainSeq?: unknown; detail?: { anchor?: Partial<Anchor> } };
      try {
        e = JSON.parse(text);
      } catch {
        return bad(line, 'not a JSON entry (edited or corrupted)');
      }
      if (!Number.isSafeInteger(e.seq) || typeof e.prev !== 'string') return bad(line, 'not an audit entry (no seq or prev)');
      const seq = e.seq as number;
      // Re-chaining: an edited line cannot be given a new mac without the key.
      const keyed = splitMac(text);
      let hash: string;
      if (keyed) {
        if (key === null) unchecked ??= { seq, hash: keyed.mac, file: name, line };
        else if (!key.checkMac(keyed.covered, keyed.mac))
          return bad(line, `entry seq ${seq} was edited (or keyed under another key): its mac does not verify under the chain key ${key.id}`);
        hash = keyed.mac;
        result.keyed.keyedFrom ??= seq;
      } else {
        // Downgrade: once keyed, a line without a mac can only be a replaced one.
        if (result.keyed.keyedFrom !== null) return bad(line, `entry seq ${seq} carries no mac after keyed entries: it was replaced or edited`);
        hash = lineHash(text);
        result.keyed.unkeyed = { firstSeq: result.keyed.unkeyed?.firstSeq ?? seq, lastSeq: seq };
      }
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
            broken = {
              file: last.file,
              line: last.line,
              reason: `entry seq ${last.seq} was edited: its link is not the prev recorded by the next entry (${name}:${line})`,
            };
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
      if (anchored.has(seq) || (head && seq > head.seq)) marks.set(seq, { seq, hash, file: name, line });
      // A rotation record of this chain (the main log's, mirrored into the security log, has a mainSeq).
      const a = e.type === 'audit.rotated' && e.mainSeq === undefined ? e.detail?.anchor : undefined;
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
    if (scan.lines === 0 && name !== AUDIT_CURRENT) return fail(name, 1, 'a rotated file is empty');
    if (scan.partialBytes > 0) {
      if (name !== names[names.length - 1] || name !== AUDIT_CURRENT) return fail(name, scan.lines + 1, 'incomplete line inside the chain');
      result.partialTail = { file: name, line: scan.lines + 1, bytes: scan.partialBytes };
      result.notes.push(
        `ignored an incomplete last line (${name}:${scan.lines + 1}, ${scan.partialBytes} bytes), left by an unclean stop or a write in progress`,
      );
    }
  }
  const endFile = names[names.length - 1] ?? AUDIT_CURRENT;
  const endLine = last && last.file === endFile ? last.line + 1 : 1;

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
    if (unchecked)
      return fail(
        unchecked.file,
        unchecked.line,
        `entries from seq ${unchecked.seq} on are keyed, but the chain key is not available (${keyName}): they cannot be checked`,
      );
    if (key !== null && result.keyed.keyedFrom === null) {
      return fail(
        last.file,
        last.line,
        `no entry is keyed although the chain key ${key.id} exists: the log was rewritten without macs, or no gateway with this key has served it yet (its next start keys it)`,
      );
    }
    const u = result.keyed.unkeyed;
    if (u)
      result.notes.push(
        `entries seq ${u.firstSeq}..${u.lastSeq} were written before the chain was keyed (plain SHA-256 links)${result.keyed.keyedFrom !== null ? `; the keyed entries from seq ${result.keyed.keyedFrom} on vouch for them` : ': anyone who can write the files could have re-chained them'}`,
      );
  }

  for (const a of opts.anchors ?? []) {
    if (a.seq === 0 || (last !== undefined && a.seq < result.firstSeq)) continue; // before the kept log: pruned
    if (!a.authentic()) return fail(a.file, a.line, `the anchor of ${a.ts} does not verify under the chain key: it was forged or edited`);
    result.anchors.checked++;
    result.anchors.newest = { seq: a.seq, ts: a.ts };
    if (last === undefined || a.seq > result.lastSeq) {
      return fail(
        endFile,
        endLine,
        `the log ends at seq ${result.lastSeq} but the anchor of ${a.ts} (${a.where}) vouches for seq ${a.seq}: the tail was cut or the log replaced`,
      );
    }
    const m = marks.get(a.seq);
    if (m === undefined || m.hash !== a.hash) {
      return fail(
        m?.file ?? endFile,
        m?.line ?? endLine,
        `entry seq ${a.seq} differs from the anchor of ${a.ts} (${a.where}): the log was edited, cut and continued, or replaced`,
      );
    }
  }

  if (head !== undefined && head.seq > 0 && !headSeen) {
    return fail(endFile, endLine, `the log ends at seq ${result.lastSeq} but the running gateway has written up to seq ${head.seq}: the tail was cut`);
  }
  if (head !== undefined && result.lastSeq > head.seq) {
    const later = await opts.laterHead?.();
    const forged = later === undefined ? undefined : [...marks.values()].find((m) => m.seq > later.seq);
    if (later !== undefined && forged) {
      return fail(
        forged.file,
        forged.line,
        `entry seq ${forged.seq} is newer than anything the running gateway has written (seq ${later.seq}): it was appended by someone else`,
      );
    }
    result.notes.push(`entries seq ${head.seq + 1}..${result.lastSeq} were written while the log was checked`);
  }
  if (head === undefined) {
    const newest = result.anchors.newest;
    if (newest === null)
      result.notes.push(
        'not compared with a running gateway and no head anchor vouches for the log: a cut or edited last entry cannot be seen in the files alone',
      );
    else if (newest.seq < result.lastSeq)
      result.notes.push(
        `not compared with a running gateway: entries after seq ${newest.seq} (the newest anchor, ${newest.ts}) are vouched for by their macs only`,
      );
  }
  return result;
}
