// temp harness (not committed): moat proxy rps + CPU us/req, optional --cpu-prof
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, load, MAIN, ROOT, spawnServer, tmp, token } from './lib.js';
const seconds = Number(process.env.S ?? 5);
const prof = process.env.PROF;
const upstream = await spawnServer([join(ROOT, 'bench/servers/upstream.mjs')], {}, /listening on (\S+)/);
const dataDir = tmp();
const config = join(dataDir, '..', `m-${Date.now()}.json`);
writeFileSync(config, JSON.stringify({ services: [{ name: 'up', kind: 'url', baseUrl: upstream.url, health: { path: '/health', intervalMs: 5000 } }] }));
const moat = await spawnServer([...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), MAIN, 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn', '--config', config],
  { MOAT_RATE_LIMIT_GENERAL: '1000000000', MOAT_AUDIT_MAX_QUEUE: '1000000' }, /moat listening on (\S+)/);
const auth = { authorization: `Bearer ${token(dataDir)}` };
for (let i = 0; i < 100; i++) { const r = await fetch(`${moat.url}/svc/up/small`, { headers: auth }); await r.arrayBuffer(); if (r.status === 200) break; await new Promise((r) => setTimeout(r, 50)); }
await load({ url: `${moat.url}/svc/up/small`, headers: auth, seconds: 2, connections: 32 });
for (let i = 0; i < Number(process.env.N ?? 3); i++) {
  const m0 = cpuSeconds(moat.child.pid!), u0 = cpuSeconds(upstream.child.pid!);
  const r = await load({ url: `${moat.url}/svc/up/small`, headers: auth, seconds, connections: 32 });
  const m1 = cpuSeconds(moat.child.pid!), u1 = cpuSeconds(upstream.child.pid!);
  console.log(`rps ${r.rps.toFixed(0)} moat ${((m1 - m0) * 1e6 / r.requests).toFixed(1)} us/req upstream ${((u1 - u0) * 1e6 / r.requests).toFixed(1)} us/req errors ${r.errors} non2xx ${r.non2xx}`);
}
await moat.stop(); await upstream.stop();
