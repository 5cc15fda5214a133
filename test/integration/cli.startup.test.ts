/**
 * What a CLI command loads: only its own module (`moat --version` none, `moat status` no gateway,
 * no HTTP library). Measured by the modules loaded, not by time (the figures are in `npm run
 * bench`, row cli). And the short-request transport still pins the certificate before it sends.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../src/cli/index.js';
import { issueSelfSigned } from '../../src/http/self-signed.js';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

const PRELOAD = fileURLToPath(new URL('../fixtures/loaded-modules.cjs', import.meta.url));
/** Packages no short CLI command needs: the server's, and the HTTP library of long event streams. */
const SERVER_PACKAGES = ['fastify', 'pino', 'better-sqlite3', 'undici', 'ajv', '@fastify/swagger', 'prom-client', 'ws', 'croner'];

async function packagesLoadedBy(args: string[]): Promise<{ packages: Set<string>; code: number | null; stdout: string }> {
  const out = join(tmpDir('moat-startup-'), 'modules.txt');
  const r = await runCli(args, { NODE_OPTIONS: `--require ${PRELOAD}`, LOADED_MODULES_OUT: out });
  const packages = new Set(
    readFileSync(out, 'utf8')
      .split('\n')
      .map((m) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1])
      .filter((p): p is string => p !== undefined),
  );
  return { packages, code: r.code, stdout: r.stdout };
}

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway();
});
afterAll(() => g.stop());

describe('CLI start-up loads only what the command needs', () => {
  it('moat --version loads no command module and no server package', async () => {
    const r = await packagesLoadedBy(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect([...r.packages]).toEqual(['commander']);
  });

  it.each([
    [['status', '--data-dir', '<dataDir>']],
    [['job', 'ls', '--data-dir', '<dataDir>']],
    [['token', 'ls', '--data-dir', '<dataDir>']],
    [['audit', 'tail', '-n', '3', '--data-dir', '<dataDir>']],
  ])('moat %j answers without loading the gateway or an HTTP library', async (args) => {
    const r = await packagesLoadedBy(args.map((a) => (a === '<dataDir>' ? g.dataDir : a)));
    expect(r.code).toBe(0);
    for (const pkg of SERVER_PACKAGES) expect(r.packages.has(pkg), pkg).toBe(false);
  });

  it('moat --help still lists every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of Object.keys(COMMAND_MODULES)) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('each command module registers exactly the top-level names mapped to it', async () => {
    const byModule = new Map<unknown, string[]>();
    for (const [name, load] of Object.entries(COMMAND_MODULES)) {
      const register = await load();
      byModule.set(register, [...(byModule.get(register) ?? []), name]);
    }
    for (const [register, names] of byModule) {
      const program = new Command('moat');
      (register as (p: Command) => void)(program);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...names].sort());
    }
  });
});

describe('the short-request transport pins the certificate before sending anything', () => {
  it('sends no request (and so no token) to a TLS server with another certificate', async () => {
    const { certPem, keyPem } = issueSelfSigned(['localhost', '127.0.0.1'], 30);
    let received = 0;
    const impostor = tls.createServer({ cert: certPem, key: keyPem, minVersion: 'TLSv1.3' }, (s) => {
      s.on('data', (d: Buffer) => (received += d.length));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const port = (impostor.address() as { port: number }).port;
    try {
      const fingerprint = g.gw.tlsFingerprint ?? 'AA:'.repeat(31) + 'AA';
      const r = await runCli(['status', '--gateway', `https://127.0.0.1:${port}`, '--fingerprint', fingerprint, '--token', 'moat_secret-that-must-not-travel']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/fingerprint .* expected/);
      expect(received).toBe(0);
    } finally {
      await new Promise((r) => impostor.close(r));
    }
  });
});
