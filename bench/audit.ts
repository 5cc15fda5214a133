/**
 * The record: a write route with auditing against the same route with the audit sink replaced by a
 * no-op, both served by bench/servers/moat-audit.mjs, in alternating rounds of one run.
 *
 * The route is POST /api/v1/tokens, first with a body that fails validation (400): it passes the
 * whole guard chain and the schema and is audited as a write (one http.write entry), but does no
 * other work and changes no state, so rounds repeat exactly. Being the cheapest audited write, it
 * shows the largest share auditing can take of a write. Then a token is created each time (201:
 * an SQLite insert and two entries, token.created and http.write), a write that does its work.
 *
 * Besides requests per second, each round measures the server's CPU time per request (user +
 * system of all its threads, from /proc): on a shared machine throughput swings with the
 * neighbours' load, CPU per request much less, and when the server is CPU-bound its inverse is
 * the throughput it can reach.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compare, cpuSeconds, load, median, ROOT, row, spawnServer, tmp, token, type Server } from './lib.js';

const SERVER = join(ROOT, 'bench/servers/moat-audit.mjs');
const READY = /moat listening on (\S+)/;

function auditLines(dataDir: string): { lines: number; bytes: number } {
  const dir = join(dataDir, 'audit');
  let lines = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    // The security chain is a directory beside the main chain's files (security/): not counted here.
    if (!statSync(join(dir, name)).isFile()) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    bytes += statSync(join(dir, name)).size;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  }
  return { lines, bytes };
}

export async function benchAudit(seconds: number): Promise<string[]> {
  const out: string[] = [];
  const auditedDir = tmp();
  const baselineDir = tmp();
  const audited = await spawnServer([SERVER, auditedDir], {}, READY);
  const baseline = await spawnServer([SERVER, baselineDir, '--without-audit'], {}, READY);
  const cpuUs = new Map<Server, number[]>([
    [audited, []],
    [baseline, []],
  ]);
  const request = (server: Server, dataDir: string, body: unknown) => async () => {
    const before = cpuSeconds(server.child.pid as number);
    const r = await load({
      url: `${server.url}/api/v1/tokens`,
      method: 'POST',
      headers: { authorization: `Bearer ${token(dataDir)}`, 'content-type': 'application/json', 'user-agent': 'moat-bench/1' },
      body: JSON.stringify(body),
      seconds,
    });
    cpuUs.get(server)?.push(((cpuSeconds(server.child.pid as number) - before) / Math.max(1, r.requests)) * 1e6);
    return r;
  };
  const measure = async (label: string, body: unknown, detail: boolean, status: 'ok' | 'refused') => {
    for (const list of cpuUs.values()) list.length = 0;
    const { a: b, b: m } = await compare(request(baseline, baselineDir, body), request(audited, auditedDir, body));
    if (m.errors > 0 || b.errors > 0) out.push(`!! socket errors: audited ${m.errors}, baseline ${b.errors}`);
    const wrong = status === 'ok' ? m.non2xx + b.non2xx : m.requests + b.requests - m.non2xx - b.non2xx;
    if (wrong > 0) out.push(`!! ${wrong} responses were not ${status === 'ok' ? '2xx' : 'refusals'}`);
    // The first (warm-up) round of each is left out.
    const mc = median((cpuUs.get(audited) as number[]).slice(1));
    const bc = median((cpuUs.get(baseline) as number[]).slice(1));
    out.push(row(`${label} (req/s)`, m.rps.toFixed(0), b.rps.toFixed(0), `${((m.rps / b.rps) * 100).toFixed(1)}%`));
    out.push(row('  server CPU per request (us)', mc.toFixed(1), bc.toFixed(1), `+${(mc - bc).toFixed(1)} us, +${(((mc - bc) / bc) * 100).toFixed(1)}%`));
    out.push(row('  throughput when CPU-bound (1/CPU)', (1e6 / mc).toFixed(0), (1e6 / bc).toFixed(0), `${((bc / mc) * 100).toFixed(1)}%`));
    if (!detail) return;
    out.push(row('  p99 latency (ms)', m.p99.toFixed(3), b.p99.toFixed(3), `${(m.p99 / b.p99).toFixed(2)}x`));
    out.push(row('  p50 latency (ms)', m.p50.toFixed(3), b.p50.toFixed(3), `+${((m.p50 - b.p50) * 1000).toFixed(0)} us`));
  };
  try {
    // The cheapest audited write: no name, 400 validation_failed, one http.write entry, no state.
    await measure('POST /api/v1/tokens (400, audited)', { scopes: ['read'] }, true, 'refused');
    // A write that does its work: a token created (SQLite insert), token.created + http.write.
    await measure('POST /api/v1/tokens (201, token created)', { name: 'bench-[<id>]', scopes: ['read'] }, false, 'ok');
    // The log written under that load is whole.
    const res = await fetch(`${audited.url}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${token(auditedDir)}` } });
    const v = (await res.json()) as { ok: boolean; entries: number };
    const { lines, bytes } = auditLines(auditedDir);
    out.push(row('  audit entries written, chain verified', `${lines}`, '', v.ok ? 'ok' : 'BROKEN'));
    out.push(row('  bytes per entry', (bytes / Math.max(1, lines)).toFixed(0), '', ''));
  } finally {
    await audited.stop();
    await baseline.stop();
  }
  return out;
}
