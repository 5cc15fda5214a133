/** The door: guarded GET /api/v1/status vs a bare Fastify route; start-up time; idle memory. */
import { join } from 'node:path';
import { compare, load, ROOT, row, rssMb, spawnServer, startMoat, tmp, token } from './lib.js';

export async function benchDoor(seconds: number): Promise<string[]> {
  const out: string[] = [];
  const bare = await spawnServer([join(ROOT, 'bench/servers/bare.mjs')], {}, /listening on (\S+)/);
  const bareHeaders = await spawnServer([join(ROOT, 'bench/servers/bare.mjs')], { BARE_HEADERS: '1' }, /listening on (\S+)/);
  const dataDir = tmp();
  const moat = await startMoat(dataDir);
  const auth = { authorization: `Bearer ${token(dataDir)}` };
  try {
    const { a: b, b: m } = await compare(
      () => load({ url: `${bare.url}/api/v1/status`, seconds }),
      () => load({ url: `${moat.url}/api/v1/status`, headers: auth, seconds }),
    );
    if (m.non2xx > 0 || m.errors > 0) out.push(`!! guarded route had ${m.non2xx} non-2xx and ${m.errors} errors`);
    out.push(row('GET /api/v1/status, full guard chain (req/s)', m.rps.toFixed(0), b.rps.toFixed(0), `${((m.rps / b.rps) * 100).toFixed(1)}%`));
    out.push(row('  p99 latency (ms)', m.p99.toFixed(3), b.p99.toFixed(3), `${(m.p99 / b.p99).toFixed(2)}x`));
    out.push(row('  p50 latency (ms)', m.p50.toFixed(3), b.p50.toFixed(3), `+${((m.p50 - b.p50) * 1000).toFixed(0)} us`));
    // The same comparison against bare Fastify sending the gateway's five response headers: the
    // difference between the two ratios is what the headers cost, the rest is the guard chain.
    const { a: bh, b: m2 } = await compare(
      () => load({ url: `${bareHeaders.url}/api/v1/status`, seconds }),
      () => load({ url: `${moat.url}/api/v1/status`, headers: auth, seconds }),
    );
    out.push(row('  vs bare Fastify + the same 5 headers (req/s)', m2.rps.toFixed(0), bh.rps.toFixed(0), `${((m2.rps / bh.rps) * 100).toFixed(1)}%`));
  } finally {
    await moat.stop();
    await bare.stop();
    await bareHeaders.stop();
  }

  // Start to listening: a fresh data dir (first boot) and a warm one, against bare Fastify's.
  const starts: number[] = [];
  const bareStarts: number[] = [];
  const warmDir = tmp();
  for (let i = 0; i < 5; i++) {
    const s = await startMoat(warmDir);
    starts.push(s.startedMs);
    const bs = await spawnServer([join(ROOT, 'bench/servers/bare.mjs')], {}, /listening on (\S+)/);
    bareStarts.push(bs.startedMs);
    if (i === 4) {
      // Resident memory 1 s after boot, and settled (V8 shrinks its heap after ~10 s idle).
      await new Promise((r) => setTimeout(r, 1000));
      out.push(row('idle resident memory 1 s after boot (MB)', rssMb(s.child.pid as number).toFixed(1), rssMb(bs.child.pid as number).toFixed(1), ''));
      await new Promise((r) => setTimeout(r, 14_000));
      out.push(row('idle resident memory 15 s after boot (MB)', rssMb(s.child.pid as number).toFixed(1), rssMb(bs.child.pid as number).toFixed(1), ''));
    }
    await s.stop();
    await bs.stop();
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  out.push(
    row('process start to listening (ms, median of 5)', med(starts).toFixed(0), med(bareStarts).toFixed(0), `${(med(starts) / med(bareStarts)).toFixed(2)}x`),
  );
  return out;
}
