/**
 * Idle memory: `moat serve` (default config, loopback, auth on, audit on) and a bare Fastify
 * serving the same JSON (bench/servers/bare.mjs), booted side by side, each asked GET
 * /api/v1/status once, then left alone for 15 s. Reported: resident set size (from /proc) then,
 * and again after a full GC triggered through a signal (bench/servers/gc-on-signal.cjs), with the
 * V8 heap, external and ArrayBuffer memory after that GC. Median of 3 boots each.
 */
import { join } from 'node:path';
import { MAIN, ROOT, median, row, rssMb, spawnServer, tmp, token, type Server } from './lib.js';

const IDLE_MS = Number(process.env['BENCH_IDLE_MS'] ?? 15_000);
const ROUNDS = 3;
const GC_HELPER = join(ROOT, 'bench/servers/gc-on-signal.cjs');
const NODE_ARGS = ['--expose-gc', '--require', GC_HELPER];

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

interface Sample {
  rss: number;
  afterGc: Memory;
}

/** Sends SIGUSR2 and resolves with the memoryUsage() line the helper prints after its GC (bytes). */
function afterGc(server: Server): Promise<Memory> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = /bench-memory (\{.*\})\n/.exec(text);
      if (!m) return;
      server.child.stderr!.off('data', onData);
      resolve(JSON.parse(m[1] as string) as Memory);
    };
    server.child.stderr!.on('data', onData);
    server.child.kill('SIGUSR2');
  });
}

async function sample(server: Server, headers: Record<string, string>, bootedAt: number): Promise<Sample> {
  const res = await fetch(`${server.url}/api/v1/status`, { headers });
  if (res.status !== 200) throw new Error(`GET /api/v1/status answered ${res.status}`);
  await res.arrayBuffer();
  await new Promise((r) => setTimeout(r, Math.max(0, bootedAt + IDLE_MS - performance.now())));
  const rss = rssMb(server.child.pid as number);
  return { rss, afterGc: await afterGc(server) };
}

export async function benchIdle(): Promise<string[]> {
  const moat: Sample[] = [];
  const bare: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const dataDir = tmp();
    const t0 = performance.now();
    const [m, b] = await Promise.all([
      spawnServer([...NODE_ARGS, MAIN, 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn'], {}, /moat listening on (\S+)/),
      spawnServer([...NODE_ARGS, join(ROOT, 'bench/servers/bare.mjs')], {}, /listening on (\S+)/),
    ]);
    try {
      const [ms, bs] = await Promise.all([sample(m, { authorization: `Bearer ${token(dataDir)}` }, t0), sample(b, {}, t0)]);
      moat.push(ms);
      bare.push(bs);
    } finally {
      await m.stop();
      await b.stop();
    }
  }
  const mb = (x: number) => x / 1024 / 1024;
  const line = (label: string, pick: (s: Sample) => number) => {
    const a = median(moat.map(pick));
    const b = median(bare.map(pick));
    return row(label, a.toFixed(1), b.toFixed(1), `${(a / b).toFixed(2)}x`);
  };
  return [
    line(`idle RSS ${IDLE_MS / 1000} s after boot (MB) vs bare Fastify`, (s) => s.rss),
    line('  RSS after a full GC (MB)', (s) => mb(s.afterGc.rss)),
    line('  V8 heap used after GC (MB)', (s) => mb(s.afterGc.heapUsed)),
    line('  V8 heap total after GC (MB)', (s) => mb(s.afterGc.heapTotal)),
    line('  external after GC (MB)', (s) => mb(s.afterGc.external)),
    line('  of which ArrayBuffers (MB)', (s) => mb(s.afterGc.arrayBuffers)),
    row('  target: idle RSS <= 1.25x bare', median(moat.map((s) => s.rss)) <= 1.25 * median(bare.map((s) => s.rss)) ? 'met' : 'NOT MET', '', ''),
  ];
}
