/**
 * Walks the audit chain across rotated files and reports the first broken link (file and line):
 * an edited, removed or reordered entry, or a removed rotated file. A partial last line (a crash
 * mid-write) is reported but is not a break. Reads files only.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CURRENT_FILE, GENESIS, chainOrder, lineHash } from './chain.js';

export interface VerifyResult {
  ok: boolean;
  files: string[];
  entries: number;
  lastSeq: number;
  /** Hash of the last complete entry (compare with a running gateway's head). */
  lastHash: string;
  broken?: { file: string; line: number; reason: string };
  partialTail?: { file: string; line: number };
}

interface Anchor {
  seq: number;
  prev: string;
}

export async function verifyAudit(dir: string): Promise<VerifyResult> {
  let names: string[];
  try {
    names = chainOrder(await readdir(dir));
  } catch {
    names = [];
  }
  const result: VerifyResult = { ok: true, files: names, entries: 0, lastSeq: 0, lastHash: GENESIS };
  let expectSeq: number | undefined;
  let expectPrev: string | undefined;
  let first: (Anchor & { file: string }) | undefined;
  let anchor: Anchor = { seq: 1, prev: GENESIS };

  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ...result, ok: false, broken: { file, line, reason } });

  for (const name of names) {
    const isLast = name === names[names.length - 1];
    const { lines, partial } = await readLines(join(dir, name));
    if (partial && !(isLast && name === CURRENT_FILE)) return fail(name, lines.length + 1, 'incomplete line inside the chain');
    if (partial) result.partialTail = { file: name, line: lines.length + 1 };
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i] as string;
      let entry: { seq?: unknown; prev?: unknown; type?: unknown; detail?: { anchor?: Anchor } };
      try {
        entry = JSON.parse(text);
      } catch {
        return fail(name, i + 1, 'not a JSON entry (edited or corrupted)');
      }
      if (typeof entry.seq !== 'number' || typeof entry.prev !== 'string') return fail(name, i + 1, 'entry has no seq or prev');
      if (first === undefined) {
        first = { seq: entry.seq, prev: entry.prev, file: name };
      } else {
        if (entry.prev !== expectPrev) {
          return fail(name, i + 1, 'prev hash does not match the entry before it (an entry was edited, removed or reordered)');
        }
        if (entry.seq !== expectSeq) return fail(name, i + 1, `sequence ${entry.seq} where ${expectSeq} was expected`);
      }
      if (entry.type === 'audit.rotated' && entry.detail?.anchor) anchor = entry.detail.anchor;
      expectPrev = lineHash(text);
      expectSeq = entry.seq + 1;
      result.entries++;
      result.lastSeq = entry.seq;
      result.lastHash = expectPrev;
    }
  }
  // The oldest kept entry must be where the newest rotation record says the kept chain starts:
  // otherwise a whole rotated file (or the start of the log) was removed.
  if (first && (first.seq !== anchor.seq || first.prev !== anchor.prev)) {
    return fail(first.file, 1, `the chain starts at seq ${first.seq} but should start at seq ${anchor.seq} (a file or entries were removed)`);
  }
  return result;
}

async function readLines(path: string): Promise<{ lines: string[]; partial: boolean }> {
  const lines: string[] = [];
  let endsWithNewline = true;
  const stream = createReadStream(path, { encoding: 'utf8' });
  let lastChunk = '';
  stream.on('data', (chunk) => {
    lastChunk = chunk as string;
  });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of rl) lines.push(line);
  endsWithNewline = lastChunk === '' || lastChunk.endsWith('\n');
  if (!endsWithNewline) lines.pop();
  return { lines, partial: !endsWithNewline };
}
