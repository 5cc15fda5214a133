/**
 * Container services end to end, against a real engine (Podman's Docker-compatible API, a busybox
 * image built offline): declared in the config file, started, probed, proxied through /svc/, given
 * a job, logs demultiplexed into the log ring, stopped when idle and started again on demand,
 * crashes restarted with backoff until failed, and a missing image with pull "never" failing clearly.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { FAST_JOBS, withJobs, type JobsGateway } from '../helpers/jobs.js';
import { describePodman, IMAGE, startPodman, type Podman } from '../helpers/podman.js';
import { waitFor } from '../helpers/services.js';

/** Polls the API at a pace the rate limiter allows. */
const until = <T>(check: () => Promise<T>, label: string, timeoutMs = 30_000) => waitFor(check, label, timeoutMs, 150);

const HTTPD = ['/bin/sh', '-c', 'echo hello-out; echo hello-err >&2; exec httpd -f -v -p 8080 -h /www'];

describePodman('container services on a real engine', () => {
  let engine: Podman;
  let g: JobsGateway;
  const status = async (name: string) => (await g.fetch(`/api/v1/services/${name}`)).json;
  const audits = async (type: string) =>
    readEntries(g.dataDir).filter((e) => e.type === type) as Array<{ type: string; outcome: string; detail: Record<string, unknown> }>;

  beforeAll(async () => {
    engine = await startPodman();
    const gw: TestGateway = await startGateway({
      supervisor: { stopGraceMs: 1000, containers: { socket: engine.socket } },
      jobs: FAST_JOBS,
      services: [
        {
          name: 'web',
          kind: 'container',
          image: IMAGE,
          args: HTTPD,
          port: 8080,
          env: { SECRET_TOKEN: 'sekrit-value-123' },
          readOnlyRootfs: true,
          memory: '64m',
          shmSize: '16m',
          health: { path: '/health', intervalMs: 200 },
          jobs: { path: '/cgi-bin/job', progressPath: '' },
        },
        { name: 'idle', kind: 'container', image: IMAGE, args: HTTPD, port: 8080, idleStopAfter: 1, health: { intervalMs: 100 } },
        {
          name: 'crashy',
          kind: 'container',
          image: IMAGE,
          args: ['/bin/sh', '-c', 'echo boom; exit 3'],
          port: 8080,
          restart: { policy: 'on-failure', initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 2 },
        },
        { name: 'nopull', kind: 'container', image: 'localhost/moat-absent:1', pull: 'never', port: 80 },
      ],
    });
    g = withJobs(gw, 0);
  }, 60_000);

  afterAll(async () => {
    await g?.stop();
    await engine?.stop();
  }, 60_000);

  it('starts a declared container, probes it healthy and shows its image and container id, never env values', { timeout: 60_000 }, async () => {
    const s = await until(
      async () => {
        const v = await status('web');
        return v.state === 'healthy' ? v : null;
      },
      'web healthy',
      40_000,
    );
    expect(s).toMatchObject({ kind: 'container', source: 'config', image: IMAGE, envKeys: ['SECRET_TOKEN'], pid: null });
    expect(s.containerId).toMatch(/^[0-9a-f]{12}$/);
    expect(s.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(JSON.stringify(s)).not.toContain('sekrit-value-123');
    const list = (await g.fetch('/api/v1/services')).json.services;
    expect(JSON.stringify(list)).not.toContain('sekrit-value-123');
    expect(JSON.stringify((await g.fetch('/api/v1/config')).json)).not.toContain('sekrit-value-123');
  });

  it("publishes the port on 127.0.0.1 only and labels the container as moat's", async () => {
    const s = await status('web');
    const mine = (await engine.containers()).find((c) => c.Id.startsWith(s.containerId));
    expect(mine?.Labels).toMatchObject({ 'moat.managed': 'true', 'moat.service': 'web' });
    expect(mine?.Labels?.['moat.instance']).toMatch(/^[0-9a-f]{32}$/);
    const inspect = await engine.cli(['inspect', '--format', '{{json .HostConfig.PortBindings}}', s.containerId]);
    const bindings = JSON.parse(inspect.stdout) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
    expect(Object.keys(bindings)).toEqual(['8080/tcp']);
    for (const b of bindings['8080/tcp'] ?? []) expect(b.HostIp).toBe('127.0.0.1');
    expect(s.baseUrl).toBe(`http://127.0.0.1:${bindings['8080/tcp']?.[0]?.HostPort}`);
  });

  it('runs the container with the hardening defaults (caps dropped, no-new-privileges, read-only root)', async () => {
    const s = await status('web');
    const inspect = await engine.cli(['inspect', '--format', '{{json .HostConfig}}', s.containerId]);
    const hc = JSON.parse(inspect.stdout) as {
      CapDrop?: string[];
      SecurityOpt?: string[];
      ReadonlyRootfs?: boolean;
      Privileged?: boolean;
      Memory?: number;
      ShmSize?: number;
    };
    expect(hc.Privileged).toBe(false);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.SecurityOpt?.join(',')).toContain('no-new-privileges');
    expect(hc.Memory).toBe(64 * 1024 * 1024);
    expect(hc.ShmSize).toBe(16 * 1024 * 1024);
    const caps = await engine.cli(['exec', s.containerId, 'cat', '/proc/1/status']);
    expect(caps.stdout).toMatch(/CapEff:\s+0000000000000000/);
  });

  it('proxies /svc/web/ to the container', async () => {
    const res = await g.fetch('/svc/web/index.html');
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello from a container\n');
  });

  it("passes the service env into the container but none of moat's own", async () => {
    const res = await g.fetch('/svc/web/cgi-bin/env');
    expect(res.status).toBe(200);
    expect(res.text).toContain('SECRET_TOKEN=sekrit-value-123');
    expect(res.text).not.toMatch(/^MOAT_/m);
  });

  it('dispatches a job to the container and returns its result', async () => {
    const j = await g.submit({ service: 'web', payload: { n: 42 } });
    const done = await g.until(j.id, undefined, 20_000);
    expect(done).toMatchObject({ state: 'succeeded', result: { ranIn: 'container', job: j.id, payload: { n: 42 } } });
  });

  it("shows the container's stdout and stderr, demultiplexed, in the service's log", async () => {
    const lines = await until(async () => {
      const r = (await g.fetch('/api/v1/services/web/logs?tail=200')).json.lines as Array<{ stream: string; line: string }>;
      return r.some((l) => l.stream === 'stdout' && l.line === 'hello-out') && r.some((l) => l.stream === 'stderr' && l.line === 'hello-err') ? r : null;
    }, 'both streams in the log');
    // No frame header bytes leak into a line.
    expect(lines.every((l) => !/[\u0000-\u0008]/.test(l.line))).toBe(true);
    expect(lines.some((l) => l.stream === 'moat' && l.line.startsWith('started container '))).toBe(true);
  });

  it('stops an idle container (removing it) and starts a new one on the next request', async () => {
    // Started at boot, healthy, then idle for a second: stopped, and its container gone from the engine.
    await until(
      async () => (await audits('service.stopped')).some((a) => a.detail['service'] === 'idle' && a.detail['reason'] === 'idle'),
      'the idle stop audited',
    );
    await until(async () => (await status('idle')).state === 'stopped', 'idle stopped');
    const idleContainers = async () => (await engine.containers()).filter((c) => c.Labels?.['moat.service'] === 'idle');
    expect(await idleContainers()).toEqual([]);
    expect((await audits('service.started')).filter((a) => a.detail['service'] === 'idle').map((a) => a.detail['reason'])).toEqual(['boot']);
    const res = await g.fetch('/svc/idle/index.html');
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello from a container\n');
    const again = await status('idle');
    expect(again.containerId).toMatch(/^[0-9a-f]{12}$/);
    expect((await idleContainers()).map((c) => c.Id.slice(0, 12))).toEqual([again.containerId]);
    await until(
      async () => (await audits('service.started')).some((a) => a.detail['service'] === 'idle' && a.detail['reason'] === 'demand'),
      'the start on demand audited',
    );
  }, 60_000);

  it('restarts a crashing container with backoff, then marks it failed and leaves no container behind', async () => {
    const s = await until(
      async () => {
        const v = await status('crashy');
        return v.state === 'failed' ? v : null;
      },
      'crashy failed',
      30_000,
    );
    expect(s).toMatchObject({ restarts: 2, lastExit: { code: 3 } });
    const crashed = await until(async () => {
      const c = (await audits('service.crashed')).filter((a) => a.detail['service'] === 'crashy');
      return c.length === 3 ? c : null;
    }, 'three crashes audited');
    expect(crashed[0]?.detail).toMatchObject({ exitCode: 3 });
    expect((await audits('service.restarted')).filter((a) => a.detail['service'] === 'crashy')).toHaveLength(2);
    const logs = (await g.fetch('/api/v1/services/crashy/logs?tail=100')).json.lines as Array<{ stream: string; line: string }>;
    expect(logs.filter((l) => l.stream === 'stdout' && l.line === 'boom').length).toBeGreaterThanOrEqual(1);
    expect((await engine.containers()).filter((c) => c.Labels?.['moat.service'] === 'crashy')).toEqual([]);
  }, 60_000);

  it('fails a missing image with pull "never" at once, saying what to do, and creates nothing', async () => {
    const s = await until(
      async () => {
        const v = await status('nopull');
        return v.state === 'failed' ? v : null;
      },
      'nopull failed',
      20_000,
    );
    expect(s.lastExit.error).toContain('image localhost/moat-absent:1 is not present and pull is "never"');
    expect(s.restarts).toBe(0);
    expect((await engine.containers()).filter((c) => c.Labels?.['moat.service'] === 'nopull')).toEqual([]);
    const res = await g.fetch('/svc/nopull/');
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('service_unavailable');
  });

  it('reports the engine and its socket in moat doctor', async () => {
    const checks = (await g.fetch('/api/v1/doctor')).json.checks as Array<{ id: string; severity: string; finding: string }>;
    expect(
      checks.find((c) => c.id === 'containers.engine'),
      JSON.stringify(checks.filter((c) => c.id.startsWith('containers.'))),
    ).toMatchObject({ severity: 'ok', finding: expect.stringMatching(/^Podman Engine \S+ answers at /) });
    expect(checks.find((c) => c.id === 'containers.socket')).toMatchObject({ finding: expect.stringContaining(engine.socket) });
  });

  it('stops a container on request (the engine removes it) and starts it again', async () => {
    const before = await status('web');
    const stopped = await g.fetch('/api/v1/services/web/stop', { method: 'POST' });
    expect(stopped.json.state).toBe('stopped');
    expect((await engine.containers()).some((c) => c.Id.startsWith(before.containerId))).toBe(false);
    expect((await g.fetch('/api/v1/services/web/start', { method: 'POST' })).status).toBe(200);
    await until(async () => (await status('web')).state === 'healthy', 'web healthy again', 30_000);
  }, 60_000);
});
