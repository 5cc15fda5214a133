/**
 * No container outlives moat: a real `moat serve` running container services is SIGKILLed (its
 * containers keep running in the engine), and the next boot on the same data dir removes every
 * container labelled as this install's, also one of a service no longer declared, while containers
 * without moat's labels, or with another install's id, are never touched.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { runCli, spawnServe } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { describePodman, IMAGE, startPodman, type Podman } from '../helpers/podman.js';
import { waitFor } from '../helpers/services.js';

const HTTPD = ['/bin/sh', '-c', 'echo ready-on-stdout; echo warm-on-stderr >&2; exec httpd -f -p 8080 -h /www'];

async function api(url: string, token: string, path: string): Promise<any> {
  const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return res.body.json();
}

describePodman('containers left by a SIGKILLed moat', () => {
  let engine: Podman;
  beforeAll(async () => {
    engine = await startPodman();
  }, 60_000);
  afterAll(async () => {
    await engine?.stop();
  }, 60_000);

  it("removes this install's leftover containers at the next boot and leaves foreign ones alone", async () => {
    const dir = tmpDir('moat-corphans-');
    const dataDir = join(dir, 'state');
    const config = join(dir, 'moat.json');
    const service = (name: string) => ({ name, kind: 'container', image: IMAGE, args: HTTPD, port: 8080, health: { intervalMs: 200 } });
    const write = (names: string[]) =>
      writeFileSync(config, JSON.stringify({ dataDir, supervisor: { stopGraceMs: 500, containers: { socket: engine.socket } }, services: names.map(service) }));
    write(['web', 'gone']);

    const first = await spawnServe(['--config', config, '--port', '0', '--log-level', 'warn']);
    const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    const up = await waitFor(
      async () => {
        const { services } = (await api(first.url, token, '/api/v1/services')) as { services: Array<{ name: string; state: string; containerId: string }> };
        return services.every((s) => s.state === 'healthy') ? services : null;
      },
      'both healthy',
      40_000,
      200,
    );
    const instance = readFileSync(join(dataDir, 'install-id'), 'utf8').trim();
    // Two that are not this install's: one without labels, one of another install (same service name).
    const foreign = await engine.cli(['run', '-d', '--name', 'foreign', IMAGE, 'sleep', '1000']);
    const other = await engine.cli([
      'run',
      '-d',
      '--name',
      'other-install',
      '--label',
      'moat.managed=true',
      '--label',
      `moat.instance=${'f'.repeat(32)}`,
      '--label',
      'moat.service=web',
      IMAGE,
      'sleep',
      '1000',
    ]);
    expect(foreign.code, foreign.stderr).toBe(0);
    expect(other.code, other.stderr).toBe(0);

    first.child.kill('SIGKILL');
    await first.exited;
    // The orphans are real: moat is gone and its containers still run.
    const left = (await engine.containers()).filter((c) => c.Labels?.['moat.instance'] === instance);
    expect(left.map((c) => c.State).sort()).toEqual(['running', 'running']);
    expect(left.map((c) => c.Id.slice(0, 12)).sort()).toEqual(up.map((s) => s.containerId).sort());

    write(['web']);
    const second = await spawnServe(['--config', config, '--port', '0', '--log-level', 'warn']);
    try {
      const again = await waitFor(
        async () => {
          const s = (await api(second.url, token, '/api/v1/services/web')) as { state: string; containerId: string };
          return s.state === 'healthy' ? s : null;
        },
        'web healthy again',
        40_000,
        200,
      );
      const now = await engine.containers();
      for (const old of left)
        expect(
          now.some((c) => c.Id === old.Id),
          `container ${old.Id.slice(0, 12)} removed`,
        ).toBe(false);
      const ours = now.filter((c) => c.Labels?.['moat.instance'] === instance);
      expect(ours.map((c) => c.Id.slice(0, 12))).toEqual([again.containerId]);
      const byName = (n: string) => now.find((c) => c.Names.some((x) => x.replace(/^\//, '') === n));
      expect(byName('foreign')?.State).toBe('running');
      expect(byName('other-install')?.State).toBe('running');
      expect(second.stderr()).toContain('removing a container left over from a previous run');
      const swept = await waitFor(() => {
        const e = readEntries(dataDir).filter((x) => x.type === 'service.orphan_stopped');
        return e.length === 2 ? e : null;
      }, 'two orphans audited');
      expect(swept.map((e) => e.detail?.['service']).sort()).toEqual(['gone', 'web']);
      expect(swept.map((e) => e.detail?.['container']).sort()).toEqual(left.map((c) => c.Id.slice(0, 12)).sort());

      // What a person sees: the image and the container in `moat service ls`, its output in `moat service logs`.
      const ls = await runCli(['service', 'ls', '--data-dir', dataDir]);
      expect(ls.code, ls.stderr).toBe(0);
      const [header, row] = ls.stdout.trim().split('\n');
      expect(header).toMatch(/^NAME\s+KIND\s+STATE\s+PID\s+IMAGE\s+CONTAINER\s+UPTIME\s+RESTARTS\s+HEALTH\s+EXIT\s+TAGS$/);
      expect(row).toMatch(new RegExp(`^web\\s+container\\s+healthy\\s+-\\s+${IMAGE.replaceAll('.', '\\.')}\\s+${again.containerId}\\s`));
      const logs = await waitFor(async () => {
        const r = await runCli(['service', 'logs', 'web', '--data-dir', dataDir]);
        return /stdout\s+ready-on-stdout/.test(r.stdout) && /stderr\s+warm-on-stderr/.test(r.stdout) ? r : null;
      }, 'the container output through moat service logs');
      expect(logs.stdout).toMatch(/moat\s+started container [0-9a-f]{12} /);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    // A clean shutdown leaves nothing of this install in the engine.
    expect((await engine.containers()).filter((c) => c.Labels?.['moat.instance'] === instance)).toEqual([]);
  }, 120_000);
});
