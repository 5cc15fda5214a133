/**
 * The job queue, end to end against the example worker as a no-op service ({steps: 0}):
 * (a) durable submissions: POST /api/v1/jobs under load (each 202 follows the COMMIT of its row;
 *     submissions of one event-loop turn share a commit, src/store/sqlite/group-commit.ts) with
 *     p50/p99, next to the guarded GET /api/v1/status of the same gateway and to a raw
 *     better-sqlite3 loop inserting the same rows (WAL, synchronous=FULL as moat, one transaction each);
 * (b) throughput: N jobs from the first submit to the last `succeeded` (seen on the event stream)
 *     with the worker taking 8 at once, next to the same N requests sent to the worker directly.
 * Target: at least 1,000 jobs/s submitted durably on a 2-core machine.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { migrate } from '../src/store/sqlite/database.js';
import { compare, cpuSeconds, load, median, ROOT, row, startMoat, tmp, token, type Server } from './lib.js';

const CONCURRENCY = 8;

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

/** Sends `n` requests made by `make(i)` with `parallel` in flight at once over keep-alive; resolves when all answered. */
async function drive(n: number, parallel: number, make: (i: number, agent: http.Agent) => Promise<void>): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await make(next++, agent);
    }),
  );
  agent.destroy();
}

function post(agent: http.Agent, url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Counts `job.succeeded` events on the gateway's SSE stream; `done(n)` resolves once n were seen. */
function succeededCounter(url: string, auth: Record<string, string>): Promise<{ count: () => number; done: (n: number) => Promise<number>; close(): void }> {
  return new Promise((resolve, reject) => {
    let count = 0;
    let buffer = '';
    const waiters: Array<{ n: number; resolve: (t: number) => void }> = [];
    const req = http.get(`${url}/api/v1/events`, { headers: { ...auth, accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          if (buffer.slice(0, i).includes('event: job.succeeded')) count++;
          buffer = buffer.slice(i + 2);
        }
        const now = performance.now();
        for (const w of waiters.splice(0))
          if (count >= w.n) w.resolve(now);
          else waiters.push(w);
      });
      resolve({
        count: () => count,
        done: (n) => (count >= n ? Promise.resolve(performance.now()) : new Promise((r) => waiters.push({ n, resolve: r }))),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

/** The floor under a durable submit: the same row inserted by better-sqlite3 alone, one transaction per job. */
function rawInsertRate(seconds: number): number {
  const db = new Database(join(tmp(), 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db);
  const insert = db.prepare(
    `INSERT INTO jobs (id, seq, service, state, priority, attempts, max_attempts, timeout_seconds, payload, created_by, created_by_name, created_at, updated_at)
     VALUES (?, ?, 'worker', 'queued', 0, 0, 3, 600, ?, 'admin', 'admin', ?, ?)`,
  );
  const tx = db.transaction((i: number) => insert.run(`job_${i}_${randomBytes(6).toString('base64url')}`, i, randomBytes(60), Date.now(), Date.now()));
  const end = performance.now() + Math.min(seconds, 2) * 1000;
  let i = 0;
  const t0 = performance.now();
  while (performance.now() < end) tx(++i);
  const rate = i / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

/** Moat with the example worker as service `worker` (taking CONCURRENCY jobs at once), healthy. */
async function moatWithWorker(): Promise<{ moat: Server; auth: Record<string, string>; workerUrl: string }> {
  const dataDir = tmp();
  const port = await freePort();
  const config = join(dataDir, '..', `jobs-bench-${port}.json`);
  const workerUrl = `http://127.0.0.1:${port}`;
  const worker = {
    name: 'worker',
    kind: 'command',
    command: [process.execPath, join(ROOT, 'examples/gpu-worker/worker.mjs')],
    baseUrl: workerUrl,
    concurrency: CONCURRENCY,
    health: { intervalMs: 1000 },
  };
  writeFileSync(config, JSON.stringify({ services: [worker], jobs: { progressPollMs: 0 } }));
  const moat = await startMoat(dataDir, ['--config', config], { MOAT_RATE_LIMIT_PROGRESS: '1000000000' });
  const auth = { authorization: `Bearer ${token(dataDir)}` };
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${moat.url}/api/v1/services/worker`, { headers: auth });
    if (((await r.json()) as { state?: string }).state === 'healthy') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { moat, auth, workerUrl };
}

const BODY = JSON.stringify({ service: 'worker', payload: { steps: 0 } });

export async function benchJobs(seconds: number): Promise<string[]> {
  const out: string[] = [];

  // (a) Durable submissions under load (the worker takes them meanwhile), against the guarded
  // status route of the same gateway and a raw insert loop.
  const a = await moatWithWorker();
  try {
    const { a: status, b: submit } = await compare(
      () => load({ url: `${a.moat.url}/api/v1/status`, headers: a.auth, seconds }),
      () => load({ url: `${a.moat.url}/api/v1/jobs`, method: 'POST', headers: { ...a.auth, 'content-type': 'application/json' }, body: BODY, seconds }),
      3,
    );
    if (submit.non2xx > 0 || submit.errors > 0) out.push(`!! submissions had ${submit.non2xx} non-2xx and ${submit.errors} errors`);
    out.push(
      row(
        'POST /api/v1/jobs, durable (jobs/s) vs GET status',
        submit.rps.toFixed(0),
        status.rps.toFixed(0),
        `${((submit.rps / status.rps) * 100).toFixed(1)}%`,
      ),
    );
    const raw = rawInsertRate(seconds);
    out.push(row('  vs raw better-sqlite3 insert, same row (/s)', submit.rps.toFixed(0), raw.toFixed(0), `${((submit.rps / raw) * 100).toFixed(1)}%`));
    out.push(
      row('  submit p50 latency (ms) vs GET status', submit.p50.toFixed(3), status.p50.toFixed(3), `+${((submit.p50 - status.p50) * 1000).toFixed(0)} us`),
    );
    out.push(row('  submit p99 latency (ms) vs GET status', submit.p99.toFixed(3), status.p99.toFixed(3), `${(submit.p99 / status.p99).toFixed(2)}x`));
    out.push(row('  target: >= 1000 jobs/s durable', submit.rps >= 1000 ? 'met' : 'NOT MET', '', ''));
  } finally {
    // Its backlog is left for recovery that never comes: (b) starts from a fresh gateway.
    await a.moat.stop();
  }

  // (b) End to end, N jobs submit -> dispatched -> succeeded (seen on the event stream), against
  // the same N requests sent to the worker directly with the same concurrency. Median of 3.
  const b = await moatWithWorker();
  try {
    const n = Math.max(500, Math.round(1000 * seconds));
    const counter = await succeededCounter(b.moat.url, b.auth);
    const e2e: number[] = [];
    const direct: number[] = [];
    const submitMs: number[] = [];
    // CPU per job of the gateway and of the worker it supervises (its child process), from /proc:
    // says whether the end-to-end rate is bound by CPU or by waiting (commits, round trips).
    const moatPid = b.moat.child.pid as number;
    const workerPid = Number(readFileSync(`/proc/${moatPid}/task/${moatPid}/children`, 'utf8').trim().split(/\s+/)[0]);
    const moatCpu: number[] = [];
    const workerCpu: number[] = [];
    for (let round = 0; round < 4; round++) {
      const base = counter.count();
      const c0 = [cpuSeconds(moatPid), workerPid > 0 ? cpuSeconds(workerPid) : 0];
      const t0 = performance.now();
      await drive(n, 16, async (_i, agent) => void (await post(agent, `${b.moat.url}/api/v1/jobs`, b.auth, BODY)));
      const submitted = performance.now();
      const t1 = await counter.done(base + n);
      const c1 = [cpuSeconds(moatPid), workerPid > 0 ? cpuSeconds(workerPid) : 0];
      const d0 = performance.now();
      await drive(
        n,
        CONCURRENCY,
        async (i, agent) => void (await post(agent, `${b.workerUrl}/jobs`, { 'x-moat-job-id': `direct-${round}-${i}` }, JSON.stringify({ steps: 0 }))),
      );
      if (round === 0) continue; // warm-up
      e2e.push(n / ((t1 - t0) / 1000));
      submitMs.push(submitted - t0);
      moatCpu.push((((c1[0] as number) - (c0[0] as number)) / n) * 1e6);
      workerCpu.push((((c1[1] as number) - (c0[1] as number)) / n) * 1e6);
      direct.push(n / ((performance.now() - d0) / 1000));
    }
    counter.close();
    const m = median(e2e);
    const d = median(direct);
    out.push(row(`${n} jobs submit -> succeeded (jobs/s) vs worker direct`, m.toFixed(0), d.toFixed(0), `${((m / d) * 100).toFixed(1)}%`));
    out.push(row('  of which submitting all took (ms)', median(submitMs).toFixed(0), '', ''));
    const busy = (median(moatCpu) * m) / 1e6;
    out.push(
      row(
        '  CPU per job (us): moat vs the worker',
        median(moatCpu).toFixed(0),
        workerPid > 0 ? median(workerCpu).toFixed(0) : '?',
        `${(busy * 100).toFixed(0)}% busy`,
      ),
    );
  } finally {
    await b.moat.stop();
  }
  return out;
}
