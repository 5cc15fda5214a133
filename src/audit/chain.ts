/** The hash chain: each line carries the SHA-256 of the previous line. Shared by writer, reader and verifier. */
import { hash } from 'node:crypto';

export const GENESIS = '0'.repeat(64);
export const CURRENT_FILE = 'audit.jsonl';
/** Rotated files are named by the sequence number of their first entry, so names sort in chain order. */
const ROTATED = /^audit-(\d{16})\.jsonl$/;

/** Where the kept chain starts: the first entry of the oldest kept file (recorded at each rotation). */
export interface Anchor {
  seq: number;
  prev: string;
}

export function lineHash(line: string): string {
  return hash('sha256', line, 'hex');
}

export function rotatedName(firstSeq: number): string {
  return `audit-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

export function isRotatedName(name: string): boolean {
  return ROTATED.test(name);
}

/** The first seq of a rotated file, from its name (undefined for the current file). */
export function firstSeqOfName(name: string): number | undefined {
  const m = ROTATED.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Audit files of a directory listing in chain order: rotated ones by first seq, then the current. */
export function chainOrder(names: readonly string[]): string[] {
  const rotated = names.filter(isRotatedName).sort();
  return names.includes(CURRENT_FILE) ? [...rotated, CURRENT_FILE] : rotated;
}

/** The seq and prev of an entry line, or undefined when the line is not an entry. */
export function parseLink(line: string): Anchor | undefined {
  try {
    const v = JSON.parse(line) as { seq?: unknown; prev?: unknown };
    return Number.isSafeInteger(v.seq) && typeof v.prev === 'string' ? { seq: v.seq as number, prev: v.prev } : undefined;
  } catch {
    return undefined;
  }
}
