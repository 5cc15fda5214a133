/**
 * No container engine: a container service goes to `failed` at once with a reason that says what
 * to start, everything else keeps working (a url service is proxied, the API answers), and
 * `moat doctor` reports it. Then the doctor's judgement of the engine socket itself (owner, mode).
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';
import { startEcho, type EchoServer } from '../helpers/upstream.js';

const until = <T>(check: () => Promise<T>, label: string) => waitFor(check, label, 20_000, 100);
type Check = { id: string; severity: string; finding: string; fix: string };

describe('an unreachable container engine', () => {
  let g: TestGateway;
  let echo: EchoServer;
  const dir = tmpDir('moat-engine-down-');

  beforeAll(async () => {
    echo = await startEcho();
    g = await startGateway({
      dataDir: join(dir, 'state'),
      supervisor: { containers: { socket: join(dir, 'no-engine.sock') } },
      services: [
        { name: 'gpu', kind: 'container', image: 'vllm/vllm-openai:v0.9.1', port: 8000, restart: { initialDelayMs: 10, maxDelayMs: 20 } },
        { name: 'llm', kind: 'url', baseUrl: echo.url, health: { intervalMs: 100 } },
      ],
    });
  });
  afterAll(async () => {
    await g?.stop();
    await echo?.close();
  });

  it('fails the container service at once, saying what to start, without retrying', async () => {
    const s = await until(async () => {
      const v = (await g.fetch('/api/v1/services/gpu')).json;
      return v.state === 'failed' ? v : null;
    }, 'gpu failed');
    expect(s.lastExit.error).toContain(`the container engine at ${join(dir, 'no-engine.sock')} is not reachable (ENOENT)`);
    expect(s.lastExit.error).toContain('start Docker');
    expect(s.lastExit.error).toContain('podman system service');
    expect(s.lastExit.error).toContain('supervisor.containers.socket');
    expect(s.restarts).toBe(0);
    await until(async () => readEntries(g.dataDir).some((e) => e.type === 'service.failed' && e.detail?.['service'] === 'gpu'), 'service.failed audited');
    const logs = (await g.fetch('/api/v1/services/gpu/logs')).json.lines as Array<{ line: string }>;
    expect(logs.some((l) => l.line.includes('is not reachable'))).toBe(true);
  });

  it('answers 503 service_unavailable for the container service and keeps proxying the others', async () => {
    const down = await g.fetch('/svc/gpu/v1/models');
    expect(down.status).toBe(503);
    expect(down.json.code).toBe('service_unavailable');
    await until(async () => (await g.fetch('/api/v1/services/llm')).json.state === 'healthy', 'llm healthy');
    expect((await g.fetch('/svc/llm/hello')).status).toBe(200);
    expect((await g.fetch('/api/v1/health', { auth: false })).status).toBe(200);
  });

  it('makes moat doctor fail containers.engine with the same hint', async () => {
    const report = (await g.fetch('/api/v1/doctor')).json as { checks: Check[] };
    const engine = report.checks.find((c) => c.id === 'containers.engine');
    expect(engine).toMatchObject({ severity: 'fail', finding: expect.stringContaining('podman system service') });
  });
});

describe('moat doctor on the engine socket', () => {
  let server: Server;
  let g: TestGateway;
  const dir = tmpDir('moat-engine-sock-');
  const sock = join(dir, 'engine.sock');
  const socketCheck = async () => ((await g.fetch('/api/v1/doctor')).json as { checks: Check[] }).checks.find((c) => c.id === 'containers.socket');

  beforeAll(async () => {
    // A socket that accepts and never answers HTTP: the doctor judges the file, not the engine.
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(sock, r));
    g = await startGateway({
      dataDir: join(dir, 'state'),
      supervisor: { containers: { socket: sock } },
      services: [{ name: 'gpu', kind: 'container', image: 'busybox:1', port: 80, autoStart: false }],
    });
  });
  afterAll(async () => {
    await g?.stop();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails a socket every local user can write (root for all)', async () => {
    chmodSync(sock, 0o666);
    expect(await socketCheck()).toMatchObject({ severity: 'fail', finding: expect.stringContaining('writable by every local user (mode 0666)') });
  });

  it("accepts root's socket closed to others, and says its owner and mode", async () => {
    chmodSync(sock, 0o660);
    expect(await socketCheck()).toMatchObject({ severity: 'ok', finding: expect.stringContaining('mode 0660') });
  });

  it('says nothing about engines when no container service is declared', async () => {
    const plain = await startGateway();
    try {
      const checks = ((await plain.fetch('/api/v1/doctor')).json as { checks: Check[] }).checks.filter((c) => c.id.startsWith('containers.'));
      expect(checks.map((c) => [c.id, c.severity])).toEqual([
        ['containers.engine', 'ok'],
        ['containers.socket', 'ok'],
        ['containers.options', 'ok'],
      ]);
      expect(readEntries(plain.dataDir).some((e) => e.type === 'service.orphan_stopped')).toBe(false);
    } finally {
      await plain.stop();
    }
  });
});
