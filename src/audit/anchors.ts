/**
 * Head anchors: the heads of both chains, signed (Ed25519, from the chain key) and appended to a
 * file outside the data dir (and, when asked, sent to the notifier). An anchor vouches for every
 * entry up to its head: a log cut, edited or replaced behind it no longer matches it. Writes only
 * the anchor file; reading never trusts a line whose signature does not verify.
 */
import { appendFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChainKey } from './key.js';
import { forEachLine } from './lines.js';

export interface HeadRef {
  seq: number;
  hash: string;
}

export interface HeadAnchor {
  v: 1;
  ts: string;
  /** The data dir whose log this is (one anchor file may serve several gateways). */
  dataDir: string;
  /** Id of the chain key whose Ed25519 key signed it. */
  key: string;
  main: HeadRef;
  security: HeadRef;
  /** Ed25519 signature (base64) of the other members, in this order, as JSON. */
  sig: string;
}

/** One chain's head as an anchor names it, and where the anchor is (for a finding). */
export interface AnchorPoint {
  seq: number;
  hash: string;
  ts: string;
  /** The anchor file and line, and both as one label. */
  file: string;
  line: number;
  where: string;
  /** Whether the anchor's signature verifies (checked only for anchors that matter). */
  authentic(): boolean;
}

function signedText(a: Omit<HeadAnchor, 'sig'>): string {
  return JSON.stringify({
    v: a.v,
    ts: a.ts,
    dataDir: a.dataDir,
    key: a.key,
    main: { seq: a.main.seq, hash: a.main.hash },
    security: { seq: a.security.seq, hash: a.security.hash },
  });
}

export function makeAnchor(key: ChainKey, dataDir: string, main: HeadRef, security: HeadRef, now: number): HeadAnchor {
  const unsigned = { v: 1 as const, ts: new Date(now).toISOString(), dataDir, key: key.id, main: { ...main }, security: { ...security } };
  return { ...unsigned, sig: key.sign(signedText(unsigned)) };
}

/** Appends one anchor line and syncs it (the file is created 0600, its directory 0700). */
export async function appendAnchor(file: string, anchor: HeadAnchor): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${JSON.stringify(anchor)}\n`, { mode: 0o600 });
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const isHead = (v: unknown): v is HeadRef =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as HeadRef).seq) && (v as HeadRef).seq >= 0 && typeof (v as HeadRef).hash === 'string';

export interface AnchorsRead {
  file: string;
  /** This data dir's anchors, oldest first. */
  anchors: Array<HeadAnchor & { line: number }>;
  /** Lines of this data dir that are not anchors at all. */
  malformed: number[];
  /** Whether the file exists. */
  present: boolean;
}

/** This data dir's anchors in `file` (none when it does not exist). Signatures are checked later, by need. */
export async function readAnchors(file: string, dataDir: string): Promise<AnchorsRead> {
  const out: AnchorsRead = { file, anchors: [], malformed: [], present: true };
  try {
    await forEachLine(file, (text, line) => {
      let v: Partial<HeadAnchor>;
      try {
        v = JSON.parse(text) as Partial<HeadAnchor>;
      } catch {
        out.malformed.push(line);
        return;
      }
      if (typeof v !== 'object' || v === null || v.dataDir !== dataDir) return;
      if (v.v !== 1 || typeof v.ts !== 'string' || typeof v.key !== 'string' || typeof v.sig !== 'string' || !isHead(v.main) || !isHead(v.security)) {
        out.malformed.push(line);
        return;
      }
      out.anchors.push({ v: 1, ts: v.ts, dataDir, key: v.key, main: v.main, security: v.security, sig: v.sig, line });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    out.present = false;
  }
  return out;
}

/** One chain's anchor points, each able to check its signature under `key` (once). */
export function anchorPoints(read: AnchorsRead, chain: 'main' | 'security', key: ChainKey | null): AnchorPoint[] {
  return read.anchors.map((a) => {
    let verdict: boolean | undefined;
    return {
      seq: a[chain].seq,
      hash: a[chain].hash,
      ts: a.ts,
      file: read.file,
      line: a.line,
      where: `${read.file}:${a.line}`,
      authentic: () => (verdict ??= key !== null && a.key === key.id && key.checkSignature(signedText(a), a.sig)),
    };
  });
}
