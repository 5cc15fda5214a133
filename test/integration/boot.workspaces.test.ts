/**
 * Refused boots of the way out, from outside: real `moat serve` processes exit 78 with one line
 * (golden files) before any socket opens or the data dir is touched: client scope off loopback,
 * mounts that are missing, relative or overlap the data dir, unknown tool names, MOAT_* in exec env.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { expectGolden } from '../helpers/golden.js';
import { freePort, isListening, lanAddress } from '../helpers/net.js';

const LAN = lanAddress();

interface Refusal {
  name: string;
  /** Config file contents (dir is a fresh temp dir holding `state/` as the data dir). */
  config?: (dir: string) => Record<string, unknown>;
  args?: string[];
  env?: (dir: string) => Record<string, string>;
}

const refusals: Refusal[] = [
  { name: 'client-scope-lan', args: ['--host', LAN, '--allow-client-scope'], env: (dir) => ({ MOAT_WORKSPACES_CLIENT_SCOPE_BASE: dir }) },
  {
    name: 'env-client-scope-all-interfaces',
    args: ['--host', '0.0.0.0', '--expose'],
    env: (dir) => ({ MOAT_WORKSPACES_ALLOW_CLIENT_SCOPE: '1', MOAT_WORKSPACES_CLIENT_SCOPE_BASE: dir }),
  },
  { name: 'client-scope-without-base', args: ['--allow-client-scope'] },
  { name: 'mount-missing', config: (dir) => ({ mounts: [{ name: 'docs', path: join(dir, 'missing') }] }) },
  { name: 'mount-relative', config: () => ({ mounts: [{ name: 'docs', path: 'relative/docs' }] }) },
  { name: 'mount-holds-data-dir', config: (dir) => ({ mounts: [{ name: 'home', path: dir, readOnly: true }] }) },
  {
    name: 'mount-name-twice',
    config: (dir) => ({
      mounts: [
        { name: 'a', path: join(dir, 'm') },
        { name: 'a', path: join(dir, 'm') },
      ],
    }),
  },
  { name: 'tools-allow-unknown', env: () => ({ MOAT_TOOLS_ALLOW: 'exce' }) },
  { name: 'exec-env-moat-token', config: () => ({ tools: { exec: { env: ['MOAT_TOKEN'] } } }) },
];

describe('refused boots of workspaces and tools', () => {
  it.each(refusals)('refuses $name with exit 78 and one line, before any socket opens', async ({ name, config, args = [], env }) => {
    const dir = tmpDir('moat-boot-');
    mkdirSync(join(dir, 'm'));
    const dataDir = join(dir, 'state');
    const port = await freePort();
    const cli = ['serve', '--data-dir', dataDir, '--port', String(port), ...args];
    if (config) {
      writeFileSync(join(dir, 'moat.json'), JSON.stringify(config(dir)));
      cli.push('--config', join(dir, 'moat.json'));
    }
    const res = await runCli(cli, env?.(dir) ?? {});
    expect(res.code, res.stderr).toBe(78);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectGolden(`boot/${name}.txt`, `${(lines[0] as string).replaceAll(dir, '<dir>').replaceAll(LAN, '<lan>')}\n`);
    expect(await isListening(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });
});
