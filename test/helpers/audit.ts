/** Audit files of a data dir read directly (not through src/audit), copied and tampered with for tests. */
import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from './gateway.js';

export interface Entry {
  seq: number;
  ts: string;
  prev: string;
  type: string;
  outcome: string;
  actor?: { id: string; name: string };
  client?: string;
  requestId?: string;
  clientRequestId?: string;
  method?: string;
  route?: string;
  status?: number;
  scope?: string;
  code?: string;
  headers?: Record<string, string>;
  detail?: Record<string, any>;
  mac?: string;
  mainSeq?: number;
}

export const auditDir = (dataDir: string) => join(dataDir, 'audit');

/** Rotated files (by name, which is by first seq), then audit.jsonl. */
export function auditFiles(dataDir: string): string[] {
  const names = existsSync(auditDir(dataDir)) ? readdirSync(auditDir(dataDir)) : [];
  const rotated = names.filter((n) => /^audit-\d{16}\.jsonl$/.test(n)).sort();
  return names.includes('audit.jsonl') ? [...rotated, 'audit.jsonl'] : rotated;
}

/** The complete lines of one audit file. */
export function fileLines(dataDir: string, name: string): string[] {
  const text = readFileSync(join(auditDir(dataDir), name), 'utf8');
  const lines = text.split('\n');
  lines.pop(); // after the last newline: '' or a partial line
  return lines;
}

export function writeFileLines(dataDir: string, name: string, lines: string[]): void {
  const path = join(auditDir(dataDir), name);
  chmodSync(path, 0o600);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
}

/** Every entry of every file, in chain order. */
export function readEntries(dataDir: string): Entry[] {
  return auditFiles(dataDir).flatMap((n) => fileLines(dataDir, n).map((l) => JSON.parse(l) as Entry));
}

/** Everything under <dataDir>/audit/ (the security log too), every file, as one string (to search for secrets). */
export function auditText(dataDir: string): string {
  const dir = auditDir(dataDir);
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
    .join('\n');
}

/** Every entry of the security log (<dataDir>/audit/security/), in chain order. */
export function readSecurityEntries(dataDir: string): Entry[] {
  const dir = join(auditDir(dataDir), 'security');
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const files = [...names.filter((n) => /^audit-\d{16}\.jsonl$/.test(n)).sort(), ...(names.includes('audit.jsonl') ? ['audit.jsonl'] : [])];
  return files.flatMap((n) =>
    readFileSync(join(dir, n), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Entry),
  );
}

/** A new data dir holding a copy of `dataDir`'s audit directory (to tamper with). */
export function copyAudit(dataDir: string): string {
  const copy = tmpDir('moat-audit-copy-');
  cpSync(auditDir(dataDir), auditDir(copy), { recursive: true });
  return copy;
}
