/**
 * The boot matrix, from outside: real `moat serve` processes for the refusals (exit 78, one line,
 * no socket opened) and real gateways for the shapes that boot.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServe } from '../helpers/cli.js';
import { gateways, tmpDir } from '../helpers/gateway.js';
import { expectGolden } from '../helpers/golden.js';
import { freePort, isListening, lanAddress } from '../helpers/net.js';

const LAN = lanAddress();

interface Refusal {
  name: string;
  args: (port: number) => string[];
  env?: Record<string, string>;
}

const refusals: Refusal[] = [
  { name: 'no-auth-lan', args: (p) => ['--host', LAN, '--port', String(p), '--no-auth'] },
  { name: 'no-tls-lan', args: (p) => ['--host', LAN, '--port', String(p), '--no-tls'] },
  { name: 'all-interfaces-without-expose', args: (p) => ['--host', '0.0.0.0', '--port', String(p)] },
  { name: 'all-ipv6-without-expose', args: (p) => ['--host', '::', '--port', String(p)] },
  { name: 'all-interfaces-expose-no-tls', args: (p) => ['--host', '0.0.0.0', '--expose', '--port', String(p), '--no-tls'] },
  { name: 'all-interfaces-expose-no-auth', args: (p) => ['--host', '0.0.0.0', '--expose', '--port', String(p), '--no-auth'] },
  { name: 'env-all-interfaces-without-expose', args: (p) => ['--port', String(p)], env: { MOAT_HOST: '0.0.0.0' } },
  { name: 'env-no-auth-lan', args: (p) => ['--port', String(p)], env: { MOAT_HOST: '10.11.12.13', MOAT_AUTH: '0' } },
  { name: 'hostname-bind', args: (p) => ['--host', 'example.com', '--port', String(p)] },
];

describe('refused boots', () => {
  it.each(refusals)('refuses $name with exit 78 and one line, before any socket opens', async ({ name, args, env }) => {
    const dataDir = join(tmpDir(), 'state');
    const port = await freePort();
    const res = await runCli(['serve', '--data-dir', dataDir, ...args(port)], env);
    expect(res.code).toBe(78);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectGolden(`boot/${name}.txt`, `${(lines[0] as string).replaceAll(LAN, '<lan>')}\n`);
    expect(await isListening(port)).toBe(false);
    expect(await isListening(port, '0.0.0.0')).toBe(false);
    // Nothing was written either: the refusal came before the data dir was touched.
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a config file that binds all interfaces without expose', async () => {
    const dir = tmpDir();
    const file = join(dir, 'moat.json');
    await import('node:fs').then((fs) => fs.writeFileSync(file, JSON.stringify({ host: '0.0.0.0', dataDir: join(dir, 'state') })));
    const res = await runCli(['serve', '--config', file, '--port', '0']);
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/needs --expose/);
  });
});

describe('boots that are allowed', () => {
  const start = gateways('all');

  it('loopback by default: auth on, TLS off', async () => {
    const g = await start();
    expect(g.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await g.fetch('/api/v1/status', { auth: false })).status).toBe(401);
    const status = await g.fetch('/api/v1/status');
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ bind: { class: 'loopback' }, tls: { enabled: false }, auth: { enabled: true } });
  });

  it('loopback with --no-auth: allowed, warned about and audited', async () => {
    const g = await start({ auth: { enabled: false } });
    expect((await g.fetch('/api/v1/status', { auth: false })).status).toBe(200);
    expect(g.logs.text).toMatch(/auth is off on loopback/);
    const audit = await g.fetch('/api/v1/audit?after=0&limit=10', { auth: false });
    const boot = (audit.json.entries as Array<{ type: string; detail: { auth: boolean; warnings?: string[] } }>).find((e) => e.type === 'gateway.boot');
    expect(boot?.detail.auth).toBe(false);
    expect(boot?.detail.warnings?.[0]).toMatch(/auth is off/);
  });

  it('loopback with --tls: HTTPS', async () => {
    const g = await start({ tls: { enabled: true } });
    expect(g.url).toMatch(/^https:/);
    expect((await g.fetch('/api/v1/status')).json.tls.fingerprint).toBe(g.gw.tlsFingerprint);
  });

  it('a specific non-loopback address: TLS and auth forced on', async () => {
    const g = await start({ host: LAN });
    expect(g.url).toBe(`https://${LAN}:${g.gw.port}`);
    expect((await g.fetch('/api/v1/status', { auth: false })).status).toBe(401);
    expect((await g.fetch('/api/v1/status')).json).toMatchObject({ bind: { class: 'specific' }, tls: { enabled: true }, auth: { enabled: true } });
  });

  it('all interfaces with --expose: TLS and auth forced on', async () => {
    const g = await start({ host: '0.0.0.0', expose: true });
    expect(g.gw.parts.posture).toMatchObject({ bindClass: 'all', tls: true, auth: true });
    const status = await import('../helpers/gateway.js').then(({ send, agentFor }) =>
      send(agentFor(g.gw), `https://127.0.0.1:${g.gw.port}`, g.token, '/api/v1/status'),
    );
    expect(status.json).toMatchObject({ bind: { class: 'all' }, tls: { enabled: true } });
  });

  it('the real process prints where it listens and where the token is, never the token', async () => {
    const dataDir = tmpDir();
    const p = await spawnServe(['--data-dir', dataDir, '--port', '0', '--tls']);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const token = (await import('node:fs')).readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    expect(p.stdout()).toMatch(/^moat listening on https:\/\/127\.0\.0\.1:\d+ \(TLS certificate SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\)\n/);
    expect(p.stdout()).toContain(`admin token in ${dataDir}/gateway-token`);
    expect(p.stdout() + p.stderr()).not.toContain(token);
  });
});
