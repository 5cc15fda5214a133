/**
 * No orphan survives moat: a real `moat serve` with command services is SIGKILLed (no chance to
 * stop its children), and the next boot on the same data dir finds and stops what it left behind,
 * grandchildren included; a process that merely reuses a recorded pid is left alone.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { sweepOrphans } from '../../src/domain/supervisor/orphans.js';
import { createLogger } from '../../src/observe/logger.js';
import { spawnServe } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { fakeService, isAlive, spec, waitFor, workerService } from '../helpers/services.js';

async function api(url: string, token: string, path: string): Promise<any> {
  const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return res.body.json();
}

describe('orphans', () => {
  it('stops the children of a SIGKILLed moat at the next boot', async () => {
    const dir = tmpDir();
    const dataDir = join(dir, 'state');
    const config = join(dir, 'moat.json');
    const worker = await workerService('worker');
    const stubborn = await fakeService('stubborn', ['--ignore-sigterm', '--grandchild']);
    writeFileSync(config, JSON.stringify({ dataDir, services: [spec(worker), spec(stubborn)], supervisor: { stopGraceMs: 500 } }));

    const first = await spawnServe(['--config', config, '--port', '0', '--log-level', 'warn']);
    const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    const up = await waitFor(async () => {
      const { services } = (await api(first.url, token, '/api/v1/services')) as { services: Array<{ name: string; state: string; pid: number }> };
      return services.every((s) => s.state === 'healthy') ? services : null;
    }, 'both healthy');
    const pids = up.map((s) => s.pid);
    const logs = await waitFor(async () => {
      const r = (await api(first.url, token, '/api/v1/services/stubborn/logs')) as { lines: Array<{ line: string }> };
      return r.lines.find((l) => l.line.startsWith('grandchild '));
    }, 'grandchild pid');
    const grandchild = Number(logs.line.split(' ')[1]);

    first.child.kill('SIGKILL');
    await first.exited;
    // The orphans are real: moat is gone and they are not.
    for (const pid of [...pids, grandchild]) expect(isAlive(pid), `pid ${pid} outlived moat`).toBe(true);

    const second = await spawnServe(['--config', config, '--port', '0', '--log-level', 'warn']);
    try {
      for (const pid of [...pids, grandchild]) await waitFor(() => !isAlive(pid), `old pid ${pid} gone`, 5000);
      const again = await waitFor(async () => {
        const { services } = (await api(second.url, token, '/api/v1/services')) as { services: Array<{ state: string; pid: number }> };
        return services.every((s) => s.state === 'healthy') ? services : null;
      }, 'healthy again');
      for (const s of again) expect(pids).not.toContain(s.pid);
      expect(second.stderr()).toContain('left over from a previous run');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const run = JSON.parse(readFileSync(join(dataDir, 'run', 'services.json'), 'utf8')) as { children: unknown[] };
    expect(run.children).toEqual([]);
  });

  it('never kills a process that only reuses a recorded pid', async () => {
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await waitFor(() => stranger.pid !== undefined && isAlive(stranger.pid), 'stranger running');
      const swept = await sweepOrphans([{ name: 'ghost', pid: stranger.pid!, marker: 'a'.repeat(24), startedAt: 0 }], {
        graceMs: 100,
        log: createLogger({ level: 'silent' }),
      });
      expect(swept).toEqual([]);
      expect(isAlive(stranger.pid!)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
