/**
 * `moat job ...`, `moat events` and `moat callbacks secret` as a user runs them: the real CLI
 * (dist/main.js) against a real gateway with the example worker.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, cleanEnv, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/services.js';
import { openSse } from '../helpers/streams.js';

let g: JobsGateway;
const moat = (...args: string[]) => runCli([...args, '--data-dir', g.dataDir], {}, 60_000);

beforeAll(async () => {
  g = await startJobsGateway();
});
afterAll(async () => {
  await g?.stop();
});

describe('moat job', () => {
  it('submit --payload @file.json --wait prints the id, the state and the result, and exits 0', async () => {
    const file = join(tmpDir(), 'payload.json');
    writeFileSync(file, JSON.stringify({ steps: 3, stepMs: 20, from: 'file' }));
    const res = await moat('job', 'submit', 'worker', '--payload', `@${file}`, '--wait');
    expect(res.code, res.stderr).toBe(0);
    const [line, result] = res.stdout.trim().split('\n');
    expect(line).toMatch(/^job_\S+ succeeded$/);
    expect(JSON.parse(result!)).toEqual({ echo: { steps: 3, stepMs: 20, from: 'file' } });
  });

  it('submit --wait exits 1 with the error when the job fails', async () => {
    const res = await moat('job', 'submit', 'worker', '--payload', '{"steps":0,"fail":true}', '--wait');
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^job_\S+ failed: the service answered 500/);
  });

  it('submit without --wait prints the id only; --idempotency-key makes a retry return the same job', async () => {
    const key = randomUUID();
    const a = await moat('job', 'submit', 'worker', '--payload', '{"steps":0}', '--idempotency-key', key);
    const b = await moat('job', 'submit', 'worker', '--payload', '{"steps":0}', '--idempotency-key', key);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^job_\S+\n$/);
    expect(b.stdout).toBe(a.stdout);
    const bad = await moat('job', 'submit', 'worker', '--payload', '{not json');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--payload is not valid JSON/);
  });

  it('ls prints a table, and JSON with --json; show prints a job with its payload', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 0, listed: true } });
    await g.until(j.id);
    const table = await moat('job', 'ls', '--state', 'succeeded');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+SERVICE\s+STATE\s+PROGRESS\s+ATTEMPTS\s+CREATEDAT$/);
    expect(rows.find((r) => r.startsWith(j.id))).toMatch(new RegExp(`^${j.id}\\s+worker\\s+succeeded\\s+100%\\s+1/3\\s+\\S+$`));
    const json = JSON.parse((await moat('job', 'ls', '--json', '--service', 'worker')).stdout);
    expect(json.some((x: { id: string }) => x.id === j.id)).toBe(true);
    const show = JSON.parse((await moat('job', 'show', j.id)).stdout);
    expect(show).toMatchObject({ id: j.id, payload: { listed: true }, result: { echo: { listed: true } } });
  });

  it('watch follows the progress of a job until it finishes (one line per update when not a TTY)', async () => {
    // Long enough that the CLI (a new process) starts well before the end.
    const j = await g.submit({ service: 'worker', payload: { steps: 10, stepMs: 300 } });
    const res = await moat('job', 'watch', j.id);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    // The final state, cleanly: not the last progress message ("step 9/10"), which is stale by then.
    expect(lines.at(-1)).toBe(`[${'#'.repeat(30)}] 100% succeeded`);
    // It showed progress on the way, not only the end.
    expect(lines.some((l) => /^\[#*\.+\]\s+\d+% (running|dispatched|queued)/.test(l))).toBe(true);
    expect(lines.some((l) => /step \d+\/10/.test(l))).toBe(true);
  });

  it('watch still follows a job to its end when the event stream is refused (limits.maxStreams)', async () => {
    const full = await startJobsGateway({ limits: { maxStreams: 1 } });
    const hog = await openSse(full.url, full.token);
    try {
      expect(hog.status).toBe(200);
      const j = await full.submit({ service: 'worker', payload: { steps: 3, stepMs: 300 } });
      const res = await runCli(['job', 'watch', j.id, '--data-dir', full.dataDir], {}, 60_000);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout.trim().split('\n').at(-1)).toMatch(/100% succeeded/);
    } finally {
      hog.close();
      await full.stop();
    }
  });

  it('cancel cancels a running job and prints the state after the cancel, not before it', async () => {
    const j = await g.submit({ service: 'worker', payload: { steps: 100, stepMs: 50 } });
    await g.until(j.id, ['running']);
    const res = await moat('job', 'cancel', j.id);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`${j.id} canceled\n`);
    expect((await g.job(j.id)).state).toBe('canceled');
  });

  it('submit --wait prints the job id before it waits, so a Ctrl-C does not lose the job', async () => {
    const child = spawn(process.execPath, [MAIN, 'job', 'submit', 'worker', '--payload', '{"steps":20,"stepMs":100}', '--wait', '--data-dir', g.dataDir], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await waitFor(async () => /submitted (job_\S+);/.test(err), 'the job id on stderr');
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    const id = /submitted (job_\S+);/.exec(err)?.[1] as string;
    expect(err).toContain(`moat job watch ${id}`);
    // The job goes on without the CLI, and can be found by the id it printed.
    expect((await g.until(id)).state).toBe('succeeded');
  });
});

describe('moat events', () => {
  it('prints live events, one per line, until killed', async () => {
    const child = spawn(process.execPath, [MAIN, 'events', '--data-dir', g.dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      // The stream is open once a job submitted after it shows up from its start; submit until one does.
      let id = '';
      await waitFor(async () => {
        id = (await g.submit({ service: 'worker', payload: { steps: 0 } })).id;
        await g.until(id);
        return out.includes(`job.queued {"id":"${id}"`) && out.includes(`job.succeeded {"id":"${id}"`);
      }, 'a job in moat events');
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => l.includes(id));
      expect(lines[0]).toMatch(new RegExp(`^job\\.queued \\{"id":"${id}","service":"worker","state":"queued","at":"[^"]+"\\}$`));
      expect(lines.map((l) => l.split(' ')[0])).toEqual(expect.arrayContaining(['job.queued', 'job.dispatched', 'job.running', 'job.succeeded']));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('moat events shows progress as a percent', () => {
  it('prints job.progress as a percent ("33%"), not 0.3333333333333333 (--json keeps the fraction)', async () => {
    const start = (json: boolean) => {
      const child = spawn(process.execPath, [MAIN, 'events', '--data-dir', g.dataDir, ...(json ? ['--json'] : [])], {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const state = { out: '', child, exited: new Promise((r) => child.on('exit', r)) };
      child.stdout.on('data', (d) => (state.out += d));
      return state;
    };
    const people = start(false);
    const scripts = start(true);
    try {
      await waitFor(async () => {
        const id = (await g.submit({ service: 'worker', payload: { steps: 3, stepMs: 30 } })).id;
        await g.until(id);
        return people.out.includes('job.progress {') && scripts.out.includes('"event":"job.progress"');
      }, 'a job with progress in moat events');
      const progress = people.out.split('\n').filter((l) => l.startsWith('job.progress'));
      expect(progress.length).toBeGreaterThan(0);
      for (const l of progress) expect(l).toMatch(/"progress":"\d{1,3}%"/);
      expect(people.out).not.toMatch(/"progress":0\.\d/);
      // --json is for scripts: the fraction as sent.
      const raw = scripts.out
        .split('\n')
        .filter((l) => l.includes('"event":"job.progress"'))
        .map((l) => JSON.parse(l).data.progress);
      expect(raw.length).toBeGreaterThan(0);
      for (const v of raw) expect(typeof v).toBe('number');
    } finally {
      people.child.kill('SIGTERM');
      scripts.child.kill('SIGTERM');
      await Promise.all([people.exited, scripts.exited]);
    }
  });
});

describe('moat events across a restart', () => {
  it('resumes after the gateway restarts, and ends (exit 1) once its token is revoked', async () => {
    const port = await freePort();
    const dataDir = tmpDir();
    let gw = await startJobsGateway({ port, dataDir });
    const { token, id: tokenId } = (await gw.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'watcher', scopes: ['read'] } })).json;
    const child = spawn(process.execPath, [MAIN, 'events', '--gateway', gw.url, '--token', token], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const seen = async (which: JobsGateway) => {
      let id = '';
      await waitFor(async () => {
        id = (await which.submit({ service: 'worker', payload: { steps: 0 } })).id;
        await which.until(id);
        return out.includes(`job.succeeded {"id":"${id}"`);
      }, 'a job in moat events');
    };
    try {
      await seen(gw);
      await gw.stop();
      gw = await startJobsGateway({ port, dataDir });
      await seen(gw);
      expect(err).toMatch(/reconnecting/);
      expect(child.exitCode).toBe(null);
      await gw.fetch(`/api/v1/tokens/${tokenId}`, { method: 'DELETE' });
      expect(await exited).toBe(1);
      expect(out).toMatch(/^end \{"reason":"the token of this stream was revoked or expired"\}$/m);
      expect(err).toMatch(/token/i);
    } finally {
      child.kill('SIGTERM');
      await gw.stop();
    }
  });
});

describe('moat callbacks secret', () => {
  it('prints the same receiver key as GET /api/v1/callbacks/secret?for=, the receiver and the scheme on stderr', async () => {
    const url = 'https://Receiver.example:443/hooks/from-moat?x=1';
    const res = await moat('callbacks', 'secret', '--for', url);
    expect(res.code, res.stderr).toBe(0);
    const api = await g.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent(url)}`);
    expect(res.stdout).toBe(`${api.json.secret}\n`);
    expect(res.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.stderr).toContain('receiver: https://receiver.example/hooks/from-moat\n');
    expect(res.stderr).toMatch(/Moat-Signature: t=<unix seconds>,v2=<hex HMAC-SHA256/);
    // Another receiver, another key.
    expect((await moat('callbacks', 'secret', '--for', 'https://receiver.example/hooks/other')).stdout).not.toBe(res.stdout);
    // Without --for there is no key to print.
    const bare = await moat('callbacks', 'secret');
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('--for');
    // Reading a key is audited (who read it, and for which origin; never the key or the path).
    const audit = await g.fetch('/api/v1/audit?limit=1000');
    const reads = audit.json.entries.filter((e: { type: string }) => e.type === 'callbacks.secret_read');
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(reads.at(-1).detail).toMatchObject({ origin: 'https://receiver.example', receiverSha256: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(JSON.stringify(audit.json)).not.toContain(api.json.secret);
    expect(JSON.stringify(audit.json)).not.toContain('from-moat');
  });
});
