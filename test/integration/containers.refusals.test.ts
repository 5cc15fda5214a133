/**
 * What container services refuse, from outside. At boot (real `moat serve`, exit 78, one line,
 * golden files, nothing opened): privileged, host PID/IPC namespaces, the engine's socket (or the
 * directory holding it) mounted in, moat's data dir mounted in, breakout capabilities, a remote
 * engine (the other rules are unit tests: test/unit/containers.*.test.ts). Through the API: a container service is never registered or changed by a token, whatever
 * supervisor.allowApiCommands says (POST/PATCH /api/v1/services, PATCH /api/v1/config).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { expectGolden } from '../helpers/golden.js';
import { freePort, isListening } from '../helpers/net.js';
import { startEcho } from '../helpers/upstream.js';

interface Refusal {
  name: string;
  /** The container service (dir is a fresh temp dir; the data dir is <dir>/state, the engine socket <dir>/run/engine.sock). */
  service: (dir: string) => Record<string, unknown>;
  env?: Record<string, string>;
  /** The data dir, when not <dir>/state. */
  dataDir?: (dir: string) => string;
}

const gpu = (extra: Record<string, unknown>) => ({ name: 'vllm', kind: 'container', image: 'vllm/vllm-openai:v0.9.1', port: 8000, ...extra });

const refusals: Refusal[] = [
  { name: 'container-privileged', service: () => gpu({ privileged: true }) },
  { name: 'container-pid-host', service: () => gpu({ pid: 'host' }) },
  { name: 'container-ipc-host', service: () => gpu({ ipc: 'host' }) },
  { name: 'container-cap-sys-admin', service: () => gpu({ capAdd: ['SYS_ADMIN'] }) },
  { name: 'container-no-image', service: () => ({ name: 'vllm', kind: 'container', port: 8000 }) },
  {
    name: 'container-engine-socket-volume',
    service: (dir) => gpu({ volumes: [{ host: join(dir, 'run', 'engine.sock'), container: '/var/run/docker.sock' }] }),
  },
  { name: 'container-engine-socket-dir-volume', service: (dir) => gpu({ volumes: [{ host: join(dir, 'run'), container: '/host-run', readOnly: true }] }) },
  { name: 'container-docker-sock-volume', service: () => gpu({ volumes: [{ host: '/var/run/docker.sock', container: '/var/run/docker.sock' }] }) },
  {
    name: 'container-data-dir-volume',
    service: (dir) => gpu({ volumes: [{ host: join(dir, 'm'), container: '/models', readOnly: true }] }),
    dataDir: (dir) => join(dir, 'm', 'state'),
  },
  { name: 'container-volume-missing', service: (dir) => gpu({ volumes: [{ host: join(dir, 'models'), container: '/models' }] }) },
  { name: 'container-engine-remote', service: () => gpu({}), env: { MOAT_CONTAINER_SOCKET: 'http://192.0.2.7:2375' } },
];

describe('refused boots of container services', () => {
  it.each(refusals)('refuses $name with exit 78 and one line, before any socket opens', async ({ name, service, env = {}, dataDir: dataDirOf }) => {
    const dir = tmpDir('moat-boot-');
    mkdirSync(join(dir, 'run'));
    mkdirSync(join(dir, 'm'));
    const dataDir = dataDirOf?.(dir) ?? join(dir, 'state');
    const port = await freePort();
    writeFileSync(
      join(dir, 'moat.json'),
      JSON.stringify({ supervisor: { containers: { socket: join(dir, 'run', 'engine.sock') } }, services: [service(dir)] }),
    );
    const res = await runCli(['serve', '--data-dir', dataDir, '--port', String(port), '--config', join(dir, 'moat.json')], env);
    expect(res.code, res.stderr).toBe(78);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectGolden(`boot/${name}.txt`, `${(lines[0] as string).replaceAll(dir, '<dir>')}\n`);
    expect(await isListening(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });
});

let g: TestGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

describe('container services through the API', () => {
  it('refuses to register a container service with 403 service_container_refused, even with allowApiCommands', async () => {
    g = await startGateway({ supervisor: { allowApiCommands: true } });
    const res = await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'gpu', kind: 'container' } });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('service_container_refused');
    // The container keys are not even part of the API's service schema.
    for (const body of [
      { name: 'gpu', kind: 'container', image: 'busybox:1', port: 80 },
      { name: 'gpu', kind: 'url', baseUrl: 'http://127.0.0.1:9', image: 'busybox:1' },
      { name: 'gpu', kind: 'command', command: ['/bin/true'], baseUrl: 'http://127.0.0.1:9', volumes: [{ host: '/var/run/docker.sock', container: '/s' }] },
      { name: 'gpu', kind: 'container', privileged: true },
    ]) {
      const r = await g.fetch('/api/v1/services', { method: 'POST', body });
      expect(r.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.status).not.toBe(201);
    }
    expect((await g.fetch('/api/v1/services')).json.services).toEqual([]);
  });

  it('refuses to turn an API service into a container with 403 service_container_refused', async () => {
    const echo = await startEcho();
    try {
      g = await startGateway({ supervisor: { allowApiCommands: true } });
      expect((await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'llm', kind: 'url', baseUrl: echo.url } })).status).toBe(201);
      const res = await g.fetch('/api/v1/services/llm', { method: 'PATCH', body: { kind: 'container' } });
      expect(res.status).toBe(403);
      expect(res.json.code).toBe('service_container_refused');
      expect((await g.fetch('/api/v1/services/llm')).json.kind).toBe('url');
    } finally {
      await echo.close();
    }
  });

  it("refuses a live config change that adds a container service (403 service_container_refused) or changes the config file's (409 service_readonly)", async () => {
    const dir = tmpDir('moat-live-');
    const declared = { name: 'gpu', kind: 'container', image: 'localhost/absent:1', pull: 'never', port: 80, autoStart: false };
    g = await startGateway({
      dataDir: join(dir, 'state'),
      supervisor: { allowApiCommands: true, containers: { socket: join(dir, 'nope.sock') } },
      services: [declared],
    });
    const added = await g.fetch('/api/v1/config', {
      method: 'PATCH',
      body: { services: [declared, { name: 'evil', kind: 'container', image: 'busybox:1', port: 80, volumes: [{ host: '/', container: '/host' }] }] },
    });
    expect(added.status).toBe(403);
    expect(added.json.code).toBe('service_container_refused');
    // A config-file service is read-only to every live change, whatever its kind: change it in the file.
    const changed = await g.fetch('/api/v1/config', { method: 'PATCH', body: { services: [{ ...declared, image: 'localhost/other:1' }] } });
    expect(changed.status).toBe(409);
    expect(changed.json.code).toBe('service_readonly');
    expect((await g.fetch('/api/v1/services')).json.services.map((s: { name: string; image: string }) => [s.name, s.image])).toEqual([
      ['gpu', 'localhost/absent:1'],
    ]);
    expect(existsSync(join(dir, 'state', 'config.runtime.json'))).toBe(false);
  });
});
