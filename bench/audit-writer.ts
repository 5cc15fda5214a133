/**
 * Micro benchmark of the audit writer alone (not part of npm run bench): CPU per entry of recording
 * an http.write-like entry into a real chain in a temp dir, flushes included. Run with
 * `npx tsx bench/audit-writer.ts [entries]`; prints microseconds of process CPU per entry.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChainKey } from '../src/audit/key.js';
import { AuditLog } from '../src/audit/writer.js';
import type { AuditEvent } from '../src/audit/event.js';

const n = Number(process.argv[2] ?? 200_000);
const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
const event: AuditEvent = {
  type: 'http.write',
  outcome: 'error',
  actor: { id: 'tok_admin', name: 'admin' },
  client: '127.0.0.1',
  requestId: 'req-1a2b3c',
  method: 'POST',
  route: '/api/v1/tokens',
  status: 400,
  scope: 'admin',
  headers: { 'user-agent': 'moat-bench/1', 'content-type': 'application/json', 'content-length': '20' },
};

async function round(): Promise<number> {
  const w = new AuditLog({
    dir: mkdtempSync(join(tmpdir(), 'moat-audit-micro-')),
    key: new ChainKey(randomBytes(32)),
    rotateBytes: 1 << 30,
    keep: 3,
    maxQueue: 1 << 30,
    log,
  });
  await w.start();
  const c0 = process.cpuUsage();
  // Bursts of 64 entries per turn, as a busy gateway records them.
  for (let i = 0; i < n; i += 64) {
    for (let j = 0; j < 64; j++) w.record(event);
    if (i % 4096 === 0) await new Promise((r) => setImmediate(r));
  }
  await w.flush();
  const c = process.cpuUsage(c0);
  await w.stop();
  return (c.user + c.system) / n;
}

const rs: number[] = [];
for (let i = 0; i < 5; i++) rs.push(await round());
rs.sort((a, b) => a - b);
console.log(`audit writer: ${rs[2]!.toFixed(2)} us CPU per entry (median of 5; min ${rs[0]!.toFixed(2)}, max ${rs[4]!.toFixed(2)})`);
