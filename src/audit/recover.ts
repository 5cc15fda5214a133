/**
 * Start-up of the audit writer: finds where the chain stands across the files (the newest entry's
 * seq and hash, the first entry of each rotated file) and cuts a partial last line left by a crash.
 * Touches only the current file, and only to cut bytes after its last newline.
 */
import { createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GENESIS, chainOrder, isRotatedName, lineHash, linkOf, parseLink } from './chain.js';
import { readFirstLine, readTail } from './lines.js';
import { AUDIT_CURRENT } from '../api/data-dir.js';

export interface FileStart {
  name: string;
  seq: number;
  prev: string;
}

export interface Recovered {
  /** Rotated files in chain order with their first entry (unreadable ones are left out). */
  rotated: FileStart[];
  /** First entry of the current file, null when it is empty or missing. */
  currentStart: { seq: number; prev: string } | null;
  /** Size of the current file after recovery. */
  currentBytes: number;
  /** The newest complete entry: the chain continues from its link. */
  head: { seq: number; hash: string };
  /** The newest complete line as it is (undefined for an empty log): the writer checks its mac. */
  headLine: string | undefined;
  /** A partial last line that was cut: its size and SHA-256 (kept as evidence in audit.recovered). */
  cut: { bytes: number; sha256: string } | null;
  /** The newest complete line is not an entry (edited or corrupted); seq was inferred from older lines. */
  unreadableHead: boolean;
}

export async function recoverAuditDir(dir: string): Promise<Recovered> {
  const names = chainOrder(await readdir(dir));
  const rotated: FileStart[] = [];
  for (const name of names.filter(isRotatedName)) {
    const first = await readFirstLine(join(dir, name)).catch(() => undefined);
    const link = first === undefined ? undefined : parseLink(first);
    if (link) rotated.push({ name, ...link });
  }
  const out: Recovered = {
    rotated,
    currentStart: null,
    currentBytes: 0,
    head: { seq: 0, hash: GENESIS },
    headLine: undefined,
    cut: null,
    unreadableHead: false,
  };

  let last: string | undefined;
  let before: string[] = [];
  if (names.includes(AUDIT_CURRENT)) {
    const path = join(dir, AUDIT_CURRENT);
    const tail = await readTail(path);
    out.currentBytes = tail.size;
    if (tail.partialBytes > 0) {
      out.cut = await cutTail(path, tail.size, tail.partialBytes);
      out.currentBytes = tail.size - tail.partialBytes;
    }
    ({ last, before } = tail);
    if (out.currentBytes > 0) {
      const first = await readFirstLine(path);
      const link = first === undefined ? undefined : parseLink(first);
      if (link) out.currentStart = link;
    }
  }
  if (last === undefined) {
    const newest = rotated[rotated.length - 1];
    if (newest) ({ last, before } = await readTail(join(dir, newest.name)));
  }
  if (last !== undefined) {
    out.headLine = last;
    const link = parseLink(last);
    if (link) {
      out.head = { seq: link.seq, hash: linkOf(last) };
    } else {
      // Continue the chain from the line as it is (verify will name it) and keep seq increasing.
      out.unreadableHead = true;
      const i = before.findIndex((l) => parseLink(l) !== undefined);
      const seq = i < 0 ? 0 : (parseLink(before[i] as string) as { seq: number }).seq + i + 1;
      out.head = { seq, hash: lineHash(last) };
    }
  }
  return out;
}

/** Cuts the bytes after the last newline and returns their size and hash. */
async function cutTail(path: string, size: number, bytes: number): Promise<{ bytes: number; sha256: string }> {
  const fh = await open(path, 'r+');
  try {
    const buf = Buffer.alloc(bytes);
    await fh.read(buf, 0, bytes, size - bytes);
    await fh.truncate(size - bytes);
    await fh.sync();
    return { bytes, sha256: createHash('sha256').update(buf).digest('hex') };
  } finally {
    await fh.close();
  }
}
