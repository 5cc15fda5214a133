/**
 * The reverse proxy: one upstream (bench/servers/upstream.mjs) reached directly, through moat's
 * /svc/<name>/ (full guard chain, token, scope) and through nginx as a reverse proxy to it (when
 * nginx is installed). Requests per second and p50/p99 for a small response under load, p50 with
 * one connection (the latency moat adds), and time to first byte of an SSE stream.
 * Targets: added p50 under 1 ms; throughput at least 60% of nginx's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { load, median, PIN, ROOT, row, spawnServer, startMoat, tmp, token, type LoadResult } from './lib.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function waitListening(port: number, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => (Date.now() > end ? reject(new Error(`nothing listening on ${port}`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

/** nginx (Debian's package) as a plain reverse proxy: keep-alive upstream, no buffering, no access log. */
async function startNginx(upstreamPort: number): Promise<{ url: string; stop(): Promise<void> } | null> {
  if (!NGINX) return null;
  const dir = tmp();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location /svc/up/ {
      proxy_pass http://up/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  );
  const args = ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
  const child: ChildProcess = PIN ? spawn('taskset', ['-c', '0', NGINX, ...args], { stdio: 'ignore' }) : spawn(NGINX, args, { stdio: 'ignore' });
  await waitListening(port);
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.kill('SIGQUIT');
      }),
  };
}

/** Time from sending a request to the first body byte of an SSE response, `n` times over one keep-alive connection. */
async function ttfb(url: string, headers: Record<string, string>, n: number): Promise<{ p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.get(url, { agent, headers }, (res) => {
        let first = true;
        res.on('data', () => {
          if (first) times.push(performance.now() - t0);
          first = false;
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n / 2)] as number, p99: times[Math.min(n - 1, Math.floor(n * 0.99))] as number };
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

async function rounds(targets: Target[], path: string, seconds: number, connections: number, n = 3): Promise<Map<string, LoadResult>> {
  const all = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  for (const t of targets) await load({ url: `${t.url}${path}`, headers: t.headers, seconds: Math.min(seconds, 1), connections }); // warm-up
  for (let i = 0; i < n; i++) {
    for (const t of targets) all.get(t.name)!.push(await load({ url: `${t.url}${path}`, headers: t.headers, seconds, connections }));
  }
  const out = new Map<string, LoadResult>();
  for (const [name, rs] of all) {
    out.set(name, {
      requests: rs.reduce((s, r) => s + r.requests, 0),
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      errors: rs.reduce((s, r) => s + r.errors, 0),
      non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
    });
  }
  return out;
}

export async function benchProxy(seconds: number): Promise<string[]> {
  const out: string[] = [];
  const upstream = await spawnServer([join(ROOT, 'bench/servers/upstream.mjs')], {}, /listening on (\S+)/);
  const upstreamPort = Number(new URL(upstream.url).port);
  const dataDir = tmp();
  const config = join(dataDir, '..', `proxy-bench-${upstreamPort}.json`);
  writeFileSync(config, JSON.stringify({ services: [{ name: 'up', kind: 'url', baseUrl: upstream.url, health: { path: '/health', intervalMs: 5000 } }] }));
  const moat = await startMoat(dataDir, ['--config', config]);
  const nginx = await startNginx(upstreamPort);
  try {
    const auth = { authorization: `Bearer ${token(dataDir)}` };
    const targets: Target[] = [
      { name: 'direct', url: upstream.url, headers: {} },
      { name: 'moat', url: `${moat.url}/svc/up`, headers: auth },
      ...(nginx ? [{ name: 'nginx', url: `${nginx.url}/svc/up`, headers: {} }] : []),
    ];
    // Wait for the first health probe: a request before it would start the service on demand.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${moat.url}/svc/up/small`, { headers: auth });
      await res.arrayBuffer();
      if (res.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    const loaded = await rounds(targets, '/small', seconds, 32);
    const single = await rounds(targets, '/small', seconds, 1);
    const d = loaded.get('direct')!;
    const m = loaded.get('moat')!;
    const x = loaded.get('nginx');
    for (const [name, r] of loaded) if (r.errors > 0 || r.non2xx > 0) out.push(`!! ${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`;
    const us = (a: number, b: number) => `${a >= b ? '+' : ''}${((a - b) * 1000).toFixed(0)} us`;
    out.push(row('GET /small, 32 conns (req/s) vs direct', m.rps.toFixed(0), d.rps.toFixed(0), pct(m.rps, d.rps)));
    if (x) out.push(row('GET /small, 32 conns (req/s) vs nginx', m.rps.toFixed(0), x.rps.toFixed(0), pct(m.rps, x.rps)));
    out.push(row('  p50 latency (ms) vs direct', m.p50.toFixed(3), d.p50.toFixed(3), us(m.p50, d.p50)));
    out.push(row('  p99 latency (ms) vs direct', m.p99.toFixed(3), d.p99.toFixed(3), `${(m.p99 / d.p99).toFixed(2)}x`));
    if (x) out.push(row('  p99 latency (ms) vs nginx', m.p99.toFixed(3), x.p99.toFixed(3), `${(m.p99 / x.p99).toFixed(2)}x`));
    const d1 = single.get('direct')!;
    const m1 = single.get('moat')!;
    const x1 = single.get('nginx');
    out.push(row('GET /small, 1 conn: p50 (ms) vs direct', m1.p50.toFixed(3), d1.p50.toFixed(3), us(m1.p50, d1.p50)));
    if (x1) out.push(row('GET /small, 1 conn: p50 (ms) vs nginx', m1.p50.toFixed(3), x1.p50.toFixed(3), us(m1.p50, x1.p50)));

    const n = Math.max(50, Math.round(100 * seconds));
    const t: Record<string, { p50: number; p99: number }> = {};
    for (const target of targets) await ttfb(`${target.url}/sse`, target.headers, 20); // warm-up
    for (const target of targets) t[target.name] = await ttfb(`${target.url}/sse`, target.headers, n);
    out.push(row(`SSE time to first byte p50 (ms, n=${n}) vs direct`, t['moat']!.p50.toFixed(3), t['direct']!.p50.toFixed(3), us(t['moat']!.p50, t['direct']!.p50)));
    if (t['nginx']) out.push(row('SSE time to first byte p50 (ms) vs nginx', t['moat']!.p50.toFixed(3), t['nginx'].p50.toFixed(3), us(t['moat']!.p50, t['nginx'].p50)));
    out.push(row('SSE time to first byte p99 (ms) vs direct', t['moat']!.p99.toFixed(3), t['direct']!.p99.toFixed(3), us(t['moat']!.p99, t['direct']!.p99)));
    if (!nginx) out.push('(nginx not installed: no nginx rows; apt-get install nginx-light for the comparison)');
  } finally {
    await nginx?.stop();
    await moat.stop();
    await upstream.stop();
  }
  return out;
}
