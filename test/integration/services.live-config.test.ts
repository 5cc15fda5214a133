/**
 * `services` through live config (PATCH /api/v1/config, `moat config set services`): config-file
 * services are read-only everywhere (a live list adds to them, never deletes or redefines one, also
 * across restarts), the boot says what the live overrides shadow, and a live service passes the
 * same rules as POST /api/v1/services, in one function (a table of specs against both doors).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateways, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { FAKE, FAST, waitFor } from '../helpers/services.js';
import { startEcho, type EchoServer } from '../helpers/upstream.js';

let echo: EchoServer;
const boot = gateways('each');
beforeAll(async () => {
  echo = await startEcho();
});
afterAll(async () => {
  await echo.close();
});

const patch = (g: TestGateway, body: unknown) => g.fetch('/api/v1/config', { method: 'PATCH', body });
const names = async (g: TestGateway) =>
  ((await g.fetch('/api/v1/services')).json.services as Array<{ name: string; source: string }>).map((s) => `${s.name}:${s.source}`);
const fileService = () => ({ name: 'filed', kind: 'url', baseUrl: echo.url, health: { intervalMs: 50 } });

describe('config-file services are read-only through live config', () => {
  it('keeps the config file services when a live list is set, also after a restart', async () => {
    const dataDir = tmpDir();
    let g = await boot({ dataDir, services: [fileService()] });
    await waitFor(() => g.gw.parts.supervisor.state('filed') === 'healthy', 'filed healthy');
    // What `moat config set services '[...]'` sends: a list without the file's services.
    const res = await patch(g, { services: [{ name: 'live', kind: 'url', baseUrl: echo.url, health: { intervalMs: 50 } }] });
    expect(res.status).toBe(200);
    expect((res.json.config.services as Array<{ name: string }>).map((s) => s.name)).toEqual(['filed', 'live']);
    expect(res.json.sources).toMatchObject({ 'services.filed': 'flag', 'services.live': 'runtime' });
    await waitFor(() => g.gw.parts.supervisor.state('live') === 'healthy', 'live healthy');
    expect(await names(g)).toEqual(['filed:config', 'live:runtime']);
    expect(g.gw.parts.supervisor.state('filed')).toBe('healthy');
    expect((await g.fetch('/svc/filed/still-here')).status).toBe(200);

    // An empty live list removes the live services only.
    expect((await patch(g, { services: [] })).status).toBe(200);
    await waitFor(async () => (await names(g)).length === 1, 'live service gone');
    expect(await names(g)).toEqual(['filed:config']);
    expect((await patch(g, { services: [{ name: 'live', kind: 'url', baseUrl: echo.url }] })).status).toBe(200);

    await g.stop();
    g = await boot({ dataDir, services: [fileService()] });
    expect(await names(g)).toEqual(['filed:config', 'live:runtime']);
  });

  it('refuses a live entry that redefines a config-file service with 409 service_readonly, and changes nothing', async () => {
    const g = await boot({ services: [fileService()] });
    const before = (await g.fetch('/api/v1/config')).json.config;
    const res = await patch(g, { services: [{ ...fileService(), baseUrl: 'http://127.0.0.1:9' }] });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe('service_readonly');
    expect((await g.fetch('/api/v1/config')).json.config).toEqual(before);
    expect((await g.fetch('/api/v1/services/filed')).json.baseUrl).toBe(echo.url);
  });

  it('accepts the list sent back whole as GET showed it (defaults filled), plus a new entry', async () => {
    const g = await boot({ services: [fileService()] });
    const shown = (await g.fetch('/api/v1/config')).json.config.services as unknown[];
    const res = await patch(g, { services: [...shown, { name: 'extra', kind: 'url', baseUrl: echo.url }] });
    expect(res.status).toBe(200);
    expect(await names(g)).toEqual(['extra:runtime', 'filed:config']);
  });

  it('keeps a live service read-only through /api/v1/services (change it where it was set)', async () => {
    const g = await boot();
    await patch(g, { services: [{ name: 'live', kind: 'url', baseUrl: echo.url, autoStart: false }] });
    const res = await g.fetch('/api/v1/services/live', { method: 'DELETE' });
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ code: 'service_readonly', detail: expect.stringContaining('PATCH /api/v1/config') });
  });

  it('refuses a live service with the name of one registered through the API (409 service_exists)', async () => {
    const g = await boot();
    expect((await g.fetch('/api/v1/services', { method: 'POST', body: { name: 'taken', kind: 'url', baseUrl: echo.url, autoStart: false } })).status).toBe(201);
    const res = await patch(g, { services: [{ name: 'taken', kind: 'url', baseUrl: 'http://127.0.0.1:9' }] });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe('service_exists');
  });
});

describe('the boot says what live overrides shadow', () => {
  it('brings back config-file services a live list (of an older moat) left out or redefined, and warns', async () => {
    const dataDir = tmpDir();
    // What an older moat left after `moat config set services '[...]'`: a list that omits one file
    // service and redefines the other, and an origin list over the operator's.
    writeFileSync(
      join(dataDir, 'config.runtime.json'),
      JSON.stringify({
        services: [
          { name: 'second', kind: 'url', baseUrl: 'http://127.0.0.1:9', autoStart: false },
          { name: 'live', kind: 'url', baseUrl: echo.url, autoStart: false },
        ],
        allowedOrigins: ['https://live.example'],
      }),
      { mode: 0o600 },
    );
    const g = await boot({
      dataDir,
      allowedOrigins: ['https://file.example'],
      services: [fileService(), { name: 'second', kind: 'url', baseUrl: echo.url, autoStart: false }],
    });
    expect(await names(g)).toEqual(['filed:config', 'live:runtime', 'second:config']);
    expect((await g.fetch('/api/v1/services/second')).json.baseUrl).toBe(echo.url);
    const warnings = g.logs
      .entries()
      .filter((e) => e['level'] === 40)
      .map((e) => String(e['msg']));
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/declare the service\(s\) second differently from the config file; the config file's definition is used/),
        expect.stringMatching(/live overrides .* take precedence over allowedOrigins \(flag\)/),
      ]),
    );
  });

  it('skips a live command service left on disk while allowApiCommands is off, and says so', async () => {
    const dataDir = tmpDir();
    const port = await freePort();
    writeFileSync(
      join(dataDir, 'config.runtime.json'),
      JSON.stringify({ services: [{ name: 'cmd', kind: 'command', command: [process.execPath, FAKE], baseUrl: `http://127.0.0.1:${port}`, ...FAST }] }),
      { mode: 0o600 },
    );
    const g = await boot({ dataDir });
    expect((await g.fetch('/api/v1/services/cmd')).json.code).toBe('service_not_found');
    expect(g.logs.text).toMatch(/a live service \(config.runtime.json\) breaks the API's rules now; skipped/);
  });
});

describe('one set of rules for both doors: POST /api/v1/services and PATCH /api/v1/config', () => {
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    [
      'a command service without supervisor.allowApiCommands',
      { kind: 'command', command: ['/bin/sh', '-c', 'id > /tmp/pwned'], baseUrl: `http://127.0.0.1:${port}` },
      403,
      'service_command_refused',
    ],
    ['a LAN target with allowNonLoopback', { kind: 'url', baseUrl: 'http://10.0.0.5:8000', allowNonLoopback: true }, 400, 'validation_failed'],
    ['the cloud metadata address', { kind: 'url', baseUrl: 'http://169.254.169.254/latest' }, 400, 'service_target_refused'],
    [
      'upstream headers read from a file',
      { kind: 'url', baseUrl: `http://127.0.0.1:${port}`, upstreamHeaders: { 'X-Leak': { file: '/etc/passwd' } } },
      400,
      'validation_failed',
    ],
    [
      'upstream headers read from the environment',
      { kind: 'url', baseUrl: `http://127.0.0.1:${port}`, upstreamHeaders: { 'X-Leak': { env: 'HOME' } } },
      400,
      'validation_failed',
    ],
  ];

  it.each(cases)('refuses %s through both doors alike', async (_label, body, status, code) => {
    const g = await boot();
    const spec = { name: 'bad', ...body };
    const post = await g.fetch('/api/v1/services', { method: 'POST', body: spec });
    const live = await patch(g, { services: [spec] });
    // The POST schema has no operator keys (allowNonLoopback, upstreamHeaders): refused there by the schema.
    expect([post.status, post.json.code]).toEqual([status, code]);
    expect([live.status, live.json.code]).toEqual([status, code]);
    expect((await g.fetch('/api/v1/services/bad')).json.code).toBe('service_not_found');
    expect(await names(g)).toEqual([]);
  });

  it('lets both doors register a command service once the operator allows it', async () => {
    const g = await boot({ supervisor: { allowApiCommands: true, stopGraceMs: 1000 } });
    const spec = (name: string, p: number) => ({
      name,
      kind: 'command',
      command: [process.execPath, FAKE],
      baseUrl: `http://127.0.0.1:${p}`,
      ...FAST,
      autoStart: false,
    });
    expect((await g.fetch('/api/v1/services', { method: 'POST', body: spec('posted', await freePort()) })).status).toBe(201);
    expect((await patch(g, { services: [spec('patched', await freePort())] })).status).toBe(200);
    expect(await names(g)).toEqual(['patched:runtime', 'posted:api']);
  });
});
