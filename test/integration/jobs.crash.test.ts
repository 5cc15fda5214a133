/**
 * Crash safety, from outside: a real `moat serve` with the example worker is SIGKILLed mid-job and
 * restarted on the same data dir. Every acknowledged job is still there and ends final; the
 * interrupted one was re-queued with its attempt counted (the rule in docs/jobs.md); the old
 * worker was stopped before anything was dispatched again, and no two jobs ever ran at once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { FINISHED, workerStats } from '../helpers/jobs.js';
import { isAlive, spec, waitFor, workerService } from '../helpers/services.js';

async function api(url: string, token: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

describe('SIGKILL mid-job', () => {
  it('accounts for every job after a restart, re-queues the interrupted one, and never runs two at once', async () => {
    const dir = tmpDir();
    const dataDir = join(dir, 'state');
    const config = join(dir, 'moat.json');
    const worker = await workerService('worker', { concurrency: 1, health: { intervalMs: 100 } });
    writeFileSync(
      config,
      JSON.stringify({ dataDir, services: [spec(worker)], jobs: { retryBaseMs: 50, progressPollMs: 100 }, supervisor: { stopGraceMs: 1000 } }),
    );
    const args = ['--config', config, '--port', '0', '--log-level', 'warn'];

    let moat: ServeProcess | null = await spawnServe(args);
    try {
      const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
      const submit = async (payload: unknown) => {
        const res = await api(moat!.url, token, '/api/v1/jobs', { service: 'worker', payload });
        expect(res.status).toBe(202);
        return res.json.id as string;
      };
      const ids: string[] = [];
      const long = await submit({ steps: 40, stepMs: 100 });
      ids.push(long);
      for (let i = 0; i < 3; i++) ids.push(await submit({ steps: 3, stepMs: 20, i }));
      ids.push(await submit({ steps: 20, stepMs: 50 }));
      await waitFor(async () => {
        const j = (await api(moat!.url, token, `/api/v1/jobs/${long}`)).json;
        return j.state === 'running' && j.progress.value > 0;
      }, 'the long job running');
      // A burst acknowledged just before the kill, in parallel (so that submissions share commits):
      // each 202 is a promise that the job is on disk.
      ids.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => submit({ steps: 0, burst: i })))));
      const oldWorker = (await api(moat.url, token, '/api/v1/services/worker')).json.pid as number;
      expect(isAlive(oldWorker)).toBe(true);

      moat.child.kill('SIGKILL');
      await moat.exited;
      // The worker outlived moat, still in the middle of the long job.
      expect(isAlive(oldWorker)).toBe(true);
      moat = null;

      moat = await spawnServe(args);
      // The orphan sweep at boot stopped the old worker before recovery dispatched anything.
      expect(isAlive(oldWorker)).toBe(false);
      expect(moat.stderr()).toContain('left over from a previous run');
      expect(moat.stderr()).toMatch(/jobs left in flight by the previous run were recovered/);

      const final = await waitFor(
        async () => {
          const { jobs } = (await api(moat!.url, token, '/api/v1/jobs?limit=500')).json as { jobs: Array<{ id: string; state: string }> };
          if (!ids.every((id) => FINISHED.includes(jobs.find((j) => j.id === id)?.state ?? ''))) return null;
          return Promise.all(ids.map(async (id) => (await api(moat!.url, token, `/api/v1/jobs/${id}`)).json));
        },
        'every job final',
        60_000,
        200,
      );
      // Every acknowledged job is there, exactly once, and succeeded.
      expect(final.map((j) => j.id)).toEqual(ids);
      expect(final.every((j) => j.state === 'succeeded')).toBe(true);
      const interrupted = final.find((j) => j.id === long)!;
      expect(interrupted.attempts).toBe(2);
      expect(interrupted.result.echo).toEqual({ steps: 40, stepMs: 100 });
      for (const j of final.filter((x) => x.id !== long)) expect(j.attempts).toBe(1);
      const list = (await api(moat.url, token, '/api/v1/jobs?limit=500')).json.jobs;
      expect(list).toHaveLength(ids.length);

      // The new worker never ran two at once ...
      const stats = await workerStats(worker.port);
      expect(stats.maxActive).toBe(1);
      expect(stats.active).toBe(0);
      // ... and no two jobs' recorded runs overlap (the interrupted one's run is its second attempt).
      const runs = final.map((j) => ({ id: j.id, start: Date.parse(j.startedAt), end: Date.parse(j.finishedAt) })).sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++) expect(runs[i]!.start, `${runs[i - 1]!.id} and ${runs[i]!.id} overlap`).toBeGreaterThanOrEqual(runs[i - 1]!.end);
      // The recovery is in the audit log.
      const audit = await api(moat.url, token, '/api/v1/audit?limit=1000');
      const recovered = (audit.json.entries as Array<{ type: string; detail: unknown }>).filter((e) => e.type === 'jobs.recovered');
      expect(recovered).toHaveLength(1);
      expect(recovered[0]!.detail).toMatchObject({ requeued: 1, failed: 0, canceled: 0 });
    } finally {
      if (moat) {
        moat.child.kill('SIGTERM');
        await moat.exited;
      }
    }
  }, 120_000);
});
