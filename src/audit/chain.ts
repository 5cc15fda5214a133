/** The hash chain: each line carries the SHA-256 of the previous line. Shared by writer and verifier. */
import { createHash } from 'node:crypto';

export const GENESIS = '0'.repeat(64);
export const CURRENT_FILE = 'audit.jsonl';
/** Rotated files are named by the sequence number of their first entry, so names sort in chain order. */
const ROTATED = /^audit-(\d{16})\.jsonl$/;

export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

export function rotatedName(firstSeq: number): string {
  return `audit-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

export function isRotatedName(name: string): boolean {
  return ROTATED.test(name);
}

/** Audit files of a directory listing in chain order: rotated ones by first seq, then the current. */
export function chainOrder(names: readonly string[]): string[] {
  const rotated = names.filter(isRotatedName).sort();
  return names.includes(CURRENT_FILE) ? [...rotated, CURRENT_FILE] : rotated;
}
