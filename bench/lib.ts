/** Benchmark plumbing: child-process servers, autocannon rounds, medians, a printed table. */
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The gateway under test: this checkout's build, or another one's (BENCH_MOAT=<path to main.js>) to compare builds. */
export const MAIN = process.env['BENCH_MOAT'] ?? join(ROOT, 'dist', 'main.js');

/** Pin servers and the load generator to different cores when taskset exists and there are two. */
export const PIN = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (PIN) spawnSync('taskset', ['-cp', '1', String(process.pid)]);

export interface Server {
  child: ChildProcess;
  url: string;
  startedMs: number;
  stop(): Promise<void>;
}

/** Spawns a server process and resolves once it prints a line matching `ready` (capturing the URL). */
/** The audit chain key of the bench's gateways: in a temp dir, never /etc/moat or ~/.config/moat. */
const BENCH_KEY_FILE = join(mkdtempSync(join(tmpdir(), 'moat-bench-keys-')), 'audit.key');

export function spawnServer(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Server> {
  env = { MOAT_AUDIT_KEY_FILE: BENCH_KEY_FILE, ...env };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // Servers run on core 0 and the load generator (this process) on core 1, so that the client's
    // own work does not eat into the server's CPU and the ratio measures the server.
    const child = PIN
      ? spawn('taskset', ['-c', '0', process.execPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        resolve({
          child,
          url: m[1] as string,
          startedMs: performance.now() - t0,
          stop: () =>
            new Promise((r) => {
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}\n${err}`)));
  });
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'moat-bench-'));
}

export function startMoat(dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  return spawnServer(
    [MAIN, 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn', ...extraArgs],
    { MOAT_RATE_LIMIT_GENERAL: '1000000000', MOAT_RATE_LIMIT_JOBS: '1000000000', MOAT_RATE_LIMIT_HOOKS: '1000000000', MOAT_AUDIT_MAX_QUEUE: '1000000', ...env },
    /moat listening on (\S+)/,
  );
}

export function token(dataDir: string): string {
  return readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
}

export interface LoadResult {
  /** Requests completed in the round. */
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** wrk (C, from Debian's package) when installed: it leaves the server's core to the server. */
export const WRK = spawnSync('wrk', ['--version']).error === undefined;

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** Every `[<id>]` in the body becomes an id no other request of the run has (autocannon's convention). */
  body?: string;
  seconds?: number;
  connections?: number;
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  return WRK ? loadWrk(opts) : loadAutocannon(opts);
}

async function loadAutocannon(opts: LoadOptions): Promise<LoadResult> {
  const r = await autocannon({
    url: opts.url,
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers ?? {},
    ...(opts.body ? { body: opts.body, idReplacement: opts.body.includes('[<id>]') } : {}),
    duration: opts.seconds ?? 5,
    connections: opts.connections ?? 32,
    pipelining: 1,
  });
  return { requests: r.requests.total, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

let rounds = 0;

/** A wrk request() that numbers its requests, prefixed by the round so later rounds do not repeat ids. */
function uniqueIds(body: string): string[] {
  const [head, ...rest] = body.split('[<id>]');
  const parts = [JSON.stringify(head), ...rest.map((r) => `id .. ${JSON.stringify(r)}`)].join(' .. ');
  return [
    `local n = 0`,
    `local prefix = ${JSON.stringify(`${process.pid}-${++rounds}-`)}`,
    `request = function()`,
    `  n = n + 1`,
    `  local id = prefix .. n`,
    `  return wrk.format(nil, nil, nil, ${parts})`,
    `end`,
  ];
}

async function loadWrk(opts: LoadOptions): Promise<LoadResult> {
  const script = join(tmp(), 'req.lua');
  const lua = [
    `wrk.method = ${JSON.stringify(opts.method ?? 'GET')}`,
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    ...(opts.body ? [`wrk.body = ${JSON.stringify(opts.body)}`] : []),
    ...(opts.body?.includes('[<id>]') ? uniqueIds(opts.body) : []),
  ].join('\n');
  writeFileSync(script, lua);
  const out = await new Promise<string>((resolve, reject) => {
    const args = ['-t1', `-c${opts.connections ?? 32}`, `-d${opts.seconds ?? 5}s`, '--latency', '-s', script, opts.url];
    const child = spawn('wrk', args);
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { requests, rps, p50, p99, errors, non2xx };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs `rounds` alternating rounds of A and B (after one warm-up each) and returns medians. */
export async function compare(a: () => Promise<LoadResult>, b: () => Promise<LoadResult>, rounds = 5): Promise<{ a: LoadResult; b: LoadResult }> {
  await a();
  await b();
  const ra: LoadResult[] = [];
  const rb: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    ra.push(await a());
    rb.push(await b());
  }
  const med = (rs: LoadResult[]): LoadResult => ({
    requests: median(rs.map((r) => r.requests)),
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    errors: rs.reduce((s, r) => s + r.errors, 0),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
  });
  return { a: med(ra), b: med(rb) };
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/**
 * CPU seconds of a process and all its descendants that are still running (nginx's workers are
 * children of its master), from /proc; threads are counted in their process.
 */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return total;
  }
  for (const tid of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ')) if (c.trim() !== '') total += treeCpuSeconds(Number(c));
  }
  return total;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export function row(label: string, value: string, baseline: string, ratio: string): string {
  return `${label.padEnd(44)} ${value.padStart(14)} ${baseline.padStart(14)} ${ratio.padStart(8)}`;
}
