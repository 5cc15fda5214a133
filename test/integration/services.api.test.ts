/**
 * /api/v1/services through the front door: register, change, delete, start/stop/restart, logs;
 * the loopback rule for targets, command services refused unless the operator allows them,
 * config-file services read-only, and API services that survive a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { FAKE, FAST, isAlive, spec, waitFor, workerService } from '../helpers/services.js';
import { startEcho } from '../helpers/upstream.js';

let g: TestGateway | null = null;
afterEach(async () => {
  await g?.stop();
  g = null;
});

describe('register and manage services', () => {
  it('registers a url service, shows it, changes it, and deletes it, auditing each step', async () => {
    const echo = await startEcho();
    try {
      g = await startGateway();
      const created = await g.fetch('/api/v1/services', {
        method: 'POST',
        body: { name: 'llm', kind: 'url', baseUrl: echo.url, health: { intervalMs: 50 }, tags: ['gpu'] },
      });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({
        name: 'llm',
        kind: 'url',
        source: 'api',
        baseUrl: echo.url,
        tags: ['gpu'],
        concurrency: 1,
        restart: { policy: 'on-failure' },
      });
      await waitFor(async () => (await g!.fetch('/api/v1/services/llm')).json.state === 'healthy', 'healthy');
      expect((await g.fetch('/svc/llm/x')).status).toBe(200);

      const dup = await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'llm', kind: 'url', baseUrl: echo.url } });
      expect(dup.status).toBe(409);
      expect(dup.json.code).toBe('service_exists');

      const patched = await g.fetch('/api/v1/services/llm', { method: 'PATCH', body: { concurrency: 4, health: { unhealthyThreshold: 5 } } });
      expect(patched.status).toBe(200);
      expect(patched.json).toMatchObject({ concurrency: 4, health: { unhealthyThreshold: 5, intervalMs: 50 }, tags: ['gpu'] });

      const list = await g.fetch('/api/v1/services');
      expect(list.json.services.map((s: { name: string }) => s.name)).toEqual(['llm']);

      const del = await g.fetch('/api/v1/services/llm', { method: 'DELETE' });
      expect(del.json).toEqual({ deleted: true, name: 'llm' });
      expect((await g.fetch('/api/v1/services/llm')).json.code).toBe('service_not_found');
      expect((await g.fetch('/svc/llm/x')).json.code).toBe('service_not_found');

      const audit = await waitFor(async () => {
        const types = ((await g!.fetch('/api/v1/audit?limit=1000')).json.entries as Array<{ type: string }>).map((e) => e.type);
        return types.includes('service.deleted') ? types : null;
      }, 'audit entries');
      expect(audit).toEqual(expect.arrayContaining(['service.registered', 'service.updated', 'service.deleted']));
    } finally {
      await echo.close();
    }
  });

  it.each([
    ['a LAN address', 'http://10.0.0.5:8000'],
    ['the cloud metadata address', 'http://169.254.169.254/latest'],
    ['all interfaces', 'http://0.0.0.0:8000'],
    ['a public name', 'https://example.com'],
    ['credentials in the URL', 'http://user:pw@127.0.0.1:8000'],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses a target that is %s with 400 service_target_refused', async (_label, baseUrl) => {
    g ??= await startGateway();
    const res = await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'bad', kind: 'url', baseUrl } });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('service_target_refused');
  });

  it('refuses allowNonLoopback through the API (only the config file may widen a target)', async () => {
    g = await startGateway();
    const res = await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'x', kind: 'url', baseUrl: 'http://10.0.0.5', allowNonLoopback: true } });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_failed');
  });

  it('refuses command services through the API unless supervisor.allowApiCommands is set', async () => {
    const port = await freePort();
    const body = { name: 'cmd', kind: 'command', command: [process.execPath, FAKE], baseUrl: `http://127.0.0.1:${port}`, ...FAST };
    g = await startGateway();
    const refused = await g.fetch('/api/v1/services', { method: 'POST', body });
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('service_command_refused');
    await g.stop();

    g = await startGateway({ supervisor: { allowApiCommands: true, stopGraceMs: 1000 } });
    const created = await g.fetch('/api/v1/services', { method: 'POST', body });
    expect(created.status).toBe(201);
    await waitFor(async () => (await g!.fetch('/api/v1/services/cmd')).json.state === 'healthy', 'healthy');
  });

  it('keeps config-file services read-only through the API', async () => {
    g = await startGateway({ services: [spec(await workerService('worker', { autoStart: false }))] });
    for (const [method, body] of [
      ['PATCH', { concurrency: 2 }],
      ['DELETE', undefined],
    ] as const) {
      const res = await g.fetch('/api/v1/services/worker', { method, ...(body ? { body } : {}) });
      expect(res.status).toBe(409);
      expect(res.json.code).toBe('service_readonly');
    }
  });

  it('keeps API services across a restart of the gateway', async () => {
    const dataDir = tmpDir();
    g = await startGateway({ dataDir });
    await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'kept', kind: 'url', baseUrl: 'http://127.0.0.1:9/v1', autoStart: false } });
    await g.stop();
    g = await startGateway({ dataDir });
    const res = await g.fetch('/api/v1/services/kept');
    expect(res.json).toMatchObject({ name: 'kept', source: 'api', baseUrl: 'http://127.0.0.1:9/v1', state: 'stopped' });
  });

  it('lets a read token list and show services but not change them nor read their logs', async () => {
    g = await startGateway({ services: [spec(await workerService('worker', { autoStart: false }))] });
    const token = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'r', scopes: ['read'] } })).json.token as string;
    expect((await g.fetch('/api/v1/services', { auth: token })).status).toBe(200);
    // A service's output can hold what clients sent it: scope services (or admin), never read.
    expect((await g.fetch('/api/v1/services/worker/logs', { auth: token })).json.code).toBe('scope_required');
    const start = await g.fetch('/api/v1/services/worker/start', { method: 'POST', auth: token });
    expect(start.status).toBe(403);
    expect(start.json.code).toBe('scope_required');
  });
});

describe('start, stop, restart and logs through the API', () => {
  it('starts, restarts and stops a command service and returns its captured output', async () => {
    g = await startGateway({
      services: [spec(await workerService('worker', { autoStart: false, env: { API_KEY: 'do-not-show' } }))],
      supervisor: { stopGraceMs: 1000 },
    });
    const shown = await g.fetch('/api/v1/services/worker');
    expect(shown.json).toMatchObject({ state: 'stopped', pid: null, envKeys: ['API_KEY'] });
    expect(shown.text).not.toContain('do-not-show');

    await g.fetch('/api/v1/services/worker/start', { method: 'POST' });
    const up = await waitFor(async () => {
      const s = (await g!.fetch('/api/v1/services/worker')).json;
      return s.state === 'healthy' ? s : null;
    }, 'healthy');
    expect(up.pid).toBeGreaterThan(0);

    const restarted = await g.fetch('/api/v1/services/worker/restart', { method: 'POST' });
    expect(restarted.json.pid).not.toBe(up.pid);
    expect(isAlive(up.pid)).toBe(false);
    await waitFor(async () => (await g!.fetch('/api/v1/services/worker')).json.state === 'healthy', 'healthy after restart');

    const stopped = await g.fetch('/api/v1/services/worker/stop', { method: 'POST' });
    expect(stopped.json).toMatchObject({ state: 'stopped', pid: null, lastExit: { code: 0 } });

    const logs = await g.fetch('/api/v1/services/worker/logs?tail=100');
    const lines = logs.json.lines as Array<{ seq: number; stream: string; line: string }>;
    expect(lines.filter((l) => l.line.startsWith('gpu-worker listening'))).toHaveLength(2);
    expect(logs.json.lastSeq).toBe(lines[lines.length - 1]?.seq);
    const two = await g.fetch('/api/v1/services/worker/logs?tail=2');
    expect(two.json.lines).toHaveLength(2);
    const after = await g.fetch(`/api/v1/services/worker/logs?after=${logs.json.lastSeq}`);
    expect(after.json.lines).toEqual([]);
  });
});

describe('config refusals at boot', () => {
  it('refuses a config service whose baseUrl is not loopback, naming it', async () => {
    await expect(startGateway({ services: [{ name: 'far', kind: 'url', baseUrl: 'http://192.168.1.10:8000' }] })).rejects.toMatchObject({
      code: 'config_invalid',
      detail: expect.stringContaining('"far"'),
    });
  });

  it('accepts a non-loopback target when the config file allows it for that service', async () => {
    g = await startGateway({ services: [{ name: 'far', kind: 'url', baseUrl: 'http://192.0.2.10:8000', allowNonLoopback: true, autoStart: false }] });
    expect((await g.fetch('/api/v1/services/far')).json).toMatchObject({ allowNonLoopback: true, baseUrl: 'http://192.0.2.10:8000' });
  });

  it('refuses two services with one name', async () => {
    const s = { name: 'twin', kind: 'url', baseUrl: 'http://127.0.0.1:9' };
    await expect(startGateway({ services: [s, s] })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
