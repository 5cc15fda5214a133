/**
 * The chain's line format, shared by writer, reader and verifier. A keyed line ends with its own
 * `"mac"` (HMAC-SHA256 under the chain key over the line without that member) and its `prev` is
 * the previous line's link; a line's link is its mac, or, for a line written before the chain was
 * keyed (a legacy line), the SHA-256 of the whole line. No key material here.
 */
import { hash } from 'node:crypto';
import { AUDIT_CURRENT } from '../api/data-dir.js';

export const GENESIS = '0'.repeat(64);
/** Rotated files are named by the sequence number of their first entry, so names sort in chain order. */
const ROTATED = /^audit-(\d{16})\.jsonl$/;

/** A chain's newest entry: its seq and its link. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** Where the kept chain starts: the first entry of the oldest kept file (recorded at each rotation). */
export interface Anchor {
  seq: number;
  prev: string;
}

export function lineHash(line: string): string {
  return hash('sha256', line, 'hex');
}

/** The mac member, always last on a keyed line. */
const MAC_SUFFIX = /,"mac":"([0-9a-f]{64})"\}$/;

/** A keyed line split into what its mac covers and the mac; null for a legacy (unkeyed) line. */
export function splitMac(line: string): { covered: string; mac: string } | null {
  const m = MAC_SUFFIX.exec(line);
  return m ? { covered: `${line.slice(0, m.index)}}`, mac: m[1] as string } : null;
}

/** A keyed line: the covered text (`{...}` without the mac) with its mac appended as the last member. */
export function withMac(covered: string, mac: string): string {
  return `${covered.slice(0, -1)},"mac":"${mac}"}`;
}

/** What the next line's `prev` must be: the mac of a keyed line, the SHA-256 of a legacy one. */
export function linkOf(line: string): string {
  return splitMac(line)?.mac ?? lineHash(line);
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
  return names.includes(AUDIT_CURRENT) ? [...rotated, AUDIT_CURRENT] : rotated;
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
