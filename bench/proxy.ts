/**
 * The reverse proxy: one upstream (bench/servers/upstream.mjs) reached directly, through moat's
 * /svc/<name>/ (full guard chain, token, scope), through nginx and through Caddy's reverse_proxy
 * (each when installed; Caddy with GOMAXPROCS=1, both pinned to the servers' core like moat).
 * Requests per second and p50/p99 for a small response under load, the CPU each proxy and the
 * upstream spend per request (/proc/<pid>/stat, utime+stime over the loaded rounds), p50 with one
 * connection (the latency moat adds), time to first byte of an SSE stream, and time to first token
 * of an OpenAI-style streamed chat completion.
 * Targets: added p50 under 1 ms; throughput at least 60% of nginx's and ahead of Caddy's; proxy
 * CPU under 25 us per request.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { load, median, PIN, ROOT, row, spawnServer, startMoat, tmp, token, treeCpuSeconds, type LoadResult } from './lib.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);
const CADDY = ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => spawnSync(p, ['version']).status === 0);

/** A peer proxy in front of the same upstream. */
interface Peer {
  url: string;
  /** The process whose CPU (with its children's: nginx's worker) is the proxy's. */
  pid: number;
  stop(): Promise<void>;
}

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
async function startNginx(upstreamPort: number): Promise<Peer | null> {
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
    pid: child.pid as number,
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.kill('SIGQUIT');
      }),
  };
}

/**
 * Caddy (Debian's package) as a plain reverse proxy: one OS thread for Go code (GOMAXPROCS=1, as
 * nginx has one worker), keep-alive upstream (its default), responses flushed as they come
 * (flush_interval -1), no access log, no admin endpoint, no automatic HTTPS.
 */
let caddyFailed = false;
async function startCaddy(upstreamPort: number): Promise<Peer | null> {
  if (!CADDY) return null;
  const dir = tmp();
  const port = await freePort();
  const conf = join(dir, 'Caddyfile');
  writeFileSync(
    conf,
    `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  handle_path /svc/up/* {
    reverse_proxy 127.0.0.1:${upstreamPort} {
      flush_interval -1
    }
  }
}
`,
  );
  const args = ['run', '--config', conf, '--adapter', 'caddyfile'];
  const env = { ...process.env, GOMAXPROCS: '1', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  const child: ChildProcess = PIN ? spawn('taskset', ['-c', '0', CADDY, ...args], { stdio: 'ignore', env }) : spawn(CADDY, args, { stdio: 'ignore', env });
  try {
    await waitListening(port);
  } catch {
    child.kill('SIGKILL');
    caddyFailed = true;
    return null;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
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

const CHAT = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'Hello?' }] });

/**
 * Time from sending a streamed chat completion (POST /v1/chat/completions) to the first token, as a
 * client sees it: the first whole SSE event with a `delta.content` parsed out of the body, `n`
 * times over one keep-alive connection; every token must arrive.
 */
async function ttft(url: string, headers: Record<string, string>, n: number): Promise<{ p50: number; p99: number; incomplete: number }> {
  let incomplete = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(CHAT)) } },
        (res) => {
          let buf = '';
          let tokens = 0;
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
              const event = buf.slice(0, end);
              buf = buf.slice(end + 2);
              if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
              const content = (JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content;
              if (content !== undefined && tokens++ === 0) times.push(performance.now() - t0);
            }
          });
          res.on('end', () => {
            if (tokens !== 9 || res.statusCode !== 200) incomplete++;
            resolve();
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(CHAT);
    });
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)] as number, p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] as number, incomplete };
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The proxy's process (null: the upstream reached directly). */
  pid: number | null;
}

interface Measured extends LoadResult {
  /** CPU microseconds per request of the proxy (NaN for direct) and of the upstream. */
  proxyCpuUs: number;
  upstreamCpuUs: number;
}

async function rounds(targets: Target[], upstreamPid: number, path: string, seconds: number, connections: number, n = 3): Promise<Map<string, Measured>> {
  const all = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  const cpu = new Map<string, { proxy: number; upstream: number }>(targets.map((t) => [t.name, { proxy: 0, upstream: 0 }]));
  for (const t of targets) await load({ url: `${t.url}${path}`, headers: t.headers, seconds: Math.min(seconds, 1), connections }); // warm-up
  for (let i = 0; i < n; i++) {
    for (const t of targets) {
      const p0 = t.pid === null ? 0 : treeCpuSeconds(t.pid);
      const u0 = treeCpuSeconds(upstreamPid);
      all.get(t.name)!.push(await load({ url: `${t.url}${path}`, headers: t.headers, seconds, connections }));
      const c = cpu.get(t.name)!;
      c.proxy += t.pid === null ? 0 : treeCpuSeconds(t.pid) - p0;
      c.upstream += treeCpuSeconds(upstreamPid) - u0;
    }
  }
  const out = new Map<string, Measured>();
  for (const [name, rs] of all) {
    const requests = rs.reduce((s, r) => s + r.requests, 0);
    const c = cpu.get(name)!;
    out.set(name, {
      proxyCpuUs: targets.find((t) => t.name === name)!.pid === null ? NaN : (c.proxy / requests) * 1e6,
      upstreamCpuUs: (c.upstream / requests) * 1e6,
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
  const upstreamPid = upstream.child.pid as number;
  const dataDir = tmp();
  const config = join(dataDir, '..', `proxy-bench-${upstreamPort}.json`);
  writeFileSync(config, JSON.stringify({ services: [{ name: 'up', kind: 'url', baseUrl: upstream.url, health: { path: '/health', intervalMs: 5000 } }] }));
  const moat = await startMoat(dataDir, ['--config', config]);
  const nginx = await startNginx(upstreamPort);
  const caddy = await startCaddy(upstreamPort);
  try {
    const auth = { authorization: `Bearer ${token(dataDir)}` };
    const targets: Target[] = [
      { name: 'direct', url: upstream.url, headers: {}, pid: null },
      { name: 'moat', url: `${moat.url}/svc/up`, headers: auth, pid: moat.child.pid as number },
      ...(nginx ? [{ name: 'nginx', url: `${nginx.url}/svc/up`, headers: {}, pid: nginx.pid }] : []),
      ...(caddy ? [{ name: 'caddy', url: `${caddy.url}/svc/up`, headers: {}, pid: caddy.pid }] : []),
    ];
    // Wait for the first health probe: a request before it would start the service on demand.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${moat.url}/svc/up/small`, { headers: auth });
      await res.arrayBuffer();
      if (res.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    const loaded = await rounds(targets, upstreamPid, '/small', seconds, 32);
    const single = await rounds(targets, upstreamPid, '/small', seconds, 1);
    const d = loaded.get('direct')!;
    const m = loaded.get('moat')!;
    const peers = [loaded.get('nginx'), loaded.get('caddy')].flatMap((r, i) => (r ? [{ name: i === 0 ? 'nginx' : 'caddy', r }] : []));
    for (const [name, r] of loaded) if (r.errors > 0 || r.non2xx > 0) out.push(`!! ${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`;
    const us = (a: number, b: number) => `${a >= b ? '+' : ''}${((a - b) * 1000).toFixed(0)} us`;
    const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    out.push(row('GET /small, 32 conns (req/s) vs direct', m.rps.toFixed(0), d.rps.toFixed(0), pct(m.rps, d.rps)));
    for (const p of peers) out.push(row(`GET /small, 32 conns (req/s) vs ${p.name}`, m.rps.toFixed(0), p.r.rps.toFixed(0), pct(m.rps, p.r.rps)));
    out.push(row('  p50 latency (ms) vs direct', m.p50.toFixed(3), d.p50.toFixed(3), us(m.p50, d.p50)));
    out.push(row('  p99 latency (ms) vs direct', m.p99.toFixed(3), d.p99.toFixed(3), x(m.p99, d.p99)));
    for (const p of peers) out.push(row(`  p99 latency (ms) vs ${p.name}`, m.p99.toFixed(3), p.r.p99.toFixed(3), x(m.p99, p.r.p99)));
    // CPU per request under load: what each proxy costs, beside what the upstream itself costs.
    for (const p of peers)
      out.push(row(`proxy CPU/request (us) vs ${p.name}`, m.proxyCpuUs.toFixed(1), p.r.proxyCpuUs.toFixed(1), x(m.proxyCpuUs, p.r.proxyCpuUs)));
    out.push(row("proxy CPU/request (us) vs upstream's", m.proxyCpuUs.toFixed(1), d.upstreamCpuUs.toFixed(1), x(m.proxyCpuUs, d.upstreamCpuUs)));
    out.push(row('  upstream CPU/req (us) via moat vs direct', m.upstreamCpuUs.toFixed(1), d.upstreamCpuUs.toFixed(1), x(m.upstreamCpuUs, d.upstreamCpuUs)));
    for (const p of peers)
      out.push(row(`  ${p.name} CPU/request (us) vs upstream's`, p.r.proxyCpuUs.toFixed(1), d.upstreamCpuUs.toFixed(1), x(p.r.proxyCpuUs, d.upstreamCpuUs)));
    const d1 = single.get('direct')!;
    const m1 = single.get('moat')!;
    out.push(row('GET /small, 1 conn: p50 (ms) vs direct', m1.p50.toFixed(3), d1.p50.toFixed(3), us(m1.p50, d1.p50)));
    for (const name of ['nginx', 'caddy']) {
      const r = single.get(name);
      if (r) out.push(row(`GET /small, 1 conn: p50 (ms) vs ${name}`, m1.p50.toFixed(3), r.p50.toFixed(3), us(m1.p50, r.p50)));
    }

    const n = Math.max(50, Math.round(100 * seconds));
    const t: Record<string, { p50: number; p99: number }> = {};
    for (const target of targets) await ttfb(`${target.url}/sse`, target.headers, 20); // warm-up
    for (const target of targets) t[target.name] = await ttfb(`${target.url}/sse`, target.headers, n);
    out.push(row(`SSE first byte p50 (ms, n=${n}) vs direct`, t['moat']!.p50.toFixed(3), t['direct']!.p50.toFixed(3), us(t['moat']!.p50, t['direct']!.p50)));
    for (const name of ['nginx', 'caddy'])
      if (t[name]) out.push(row(`SSE first byte p50 (ms) vs ${name}`, t['moat']!.p50.toFixed(3), t[name].p50.toFixed(3), us(t['moat']!.p50, t[name].p50)));
    out.push(row('SSE first byte p99 (ms) vs direct', t['moat']!.p99.toFixed(3), t['direct']!.p99.toFixed(3), us(t['moat']!.p99, t['direct']!.p99)));

    const f: Record<string, { p50: number; p99: number; incomplete: number }> = {};
    for (const target of targets) await ttft(`${target.url}/v1/chat/completions`, target.headers, 20); // warm-up
    for (const target of targets) f[target.name] = await ttft(`${target.url}/v1/chat/completions`, target.headers, n);
    for (const [name, r] of Object.entries(f)) if (r.incomplete > 0) out.push(`!! ${name}: ${r.incomplete} of ${n} chat streams ended before their last token`);
    out.push(row(`chat first token p50 (ms, n=${n}) vs direct`, f['moat']!.p50.toFixed(3), f['direct']!.p50.toFixed(3), us(f['moat']!.p50, f['direct']!.p50)));
    out.push(row('  chat first token p99 (ms) vs direct', f['moat']!.p99.toFixed(3), f['direct']!.p99.toFixed(3), us(f['moat']!.p99, f['direct']!.p99)));
    for (const name of ['nginx', 'caddy'])
      if (f[name]) out.push(row(`  chat first token p50 (ms) vs ${name}`, f['moat']!.p50.toFixed(3), f[name].p50.toFixed(3), us(f['moat']!.p50, f[name].p50)));
    if (!nginx) out.push('(nginx not installed, nginx rows skipped; apt-get install nginx-light for the comparison)');
    if (!caddy)
      out.push(
        caddyFailed
          ? `(caddy did not start (try: caddy run --config <Caddyfile> by hand), caddy rows skipped)`
          : '(caddy not installed, caddy rows skipped; apt-get install caddy for the comparison)',
      );
  } finally {
    await caddy?.stop();
    await nginx?.stop();
    await moat.stop();
    await upstream.stop();
  }
  return out;
}
