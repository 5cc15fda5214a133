/** Reads audit entries in chain order (pagination by sequence number, tail). Reads files only. */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chainOrder } from './chain.js';
import type { AuditEntry } from './event.js';

/** Entries with seq > after, oldest first, at most `limit`. */
export async function readAudit(dir: string, after: number, limit: number): Promise<AuditEntry[]> {
  let names: string[];
  try {
    names = chainOrder(await readdir(dir));
  } catch {
    return [];
  }
  // Rotated files are named by their first seq: skip files that end before `after`.
  const starts = names.map((n) => (n.startsWith('audit-') ? Number(n.slice(6, 22)) : Infinity));
  const out: AuditEntry[] = [];
  for (let i = 0; i < names.length && out.length < limit; i++) {
    const nextStart = starts[i + 1] ?? Infinity;
    if (nextStart !== Infinity && nextStart <= after + 1) continue;
    const rl = createInterface({ input: createReadStream(join(dir, names[i] as string), { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line === '') continue;
      let entry: AuditEntry;
      try {
        entry = JSON.parse(line) as AuditEntry;
      } catch {
        continue;
      }
      if (entry.seq > after) out.push(entry);
      if (out.length >= limit) {
        rl.close();
        break;
      }
    }
  }
  return out;
}

/** The newest `n` entries, oldest first. */
export async function tailAudit(dir: string, n: number): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  let after = 0;
  for (;;) {
    const page = await readAudit(dir, after, 10_000);
    if (page.length === 0) break;
    all.push(...page);
    if (all.length > n) all.splice(0, all.length - n);
    after = (page[page.length - 1] as AuditEntry).seq;
  }
  return all;
}
