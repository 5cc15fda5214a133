/**
 * MOAT_TOKEN is the CLI's bearer token; the server's admin token is MOAT_ADMIN_TOKEN / --admin-token
 * / auth.token. A scoped token exported for the CLI never becomes the server's admin token, an admin
 * token that is a scoped token's secret is refused (exit 78), and the doctor names where the admin
 * token was really given.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServe } from '../helpers/cli.js';
import { check, doctorReport } from '../helpers/doctor.js';
import { startGateway, tmpDir } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';

/** A data dir holding one scoped token (scope read); returns the dir and the token's secret. */
async function dataDirWithScopedToken(): Promise<{ dataDir: string; scoped: string }> {
  const dataDir = tmpDir();
  const g = await startGateway({ dataDir });
  const created = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'cli-user', scopes: ['read'] } });
  await g.stop();
  return { dataDir, scoped: created.json.token as string };
}

describe('MOAT_TOKEN is the CLI token, not the server admin token', () => {
  it('moat serve with a scoped MOAT_TOKEN exported keeps its own admin token; the scoped token stays scoped', async () => {
    const { dataDir, scoped } = await dataDirWithScopedToken();
    const serve = await spawnServe(['--data-dir', dataDir, '--port', '0'], { MOAT_TOKEN: scoped });
    try {
      await waitFor(() => serve.stdout().includes(`admin token in ${dataDir}/gateway-token`), 'the admin token line on stdout');
      const asScoped = await fetch(`${serve.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${scoped}` } });
      expect(asScoped.status).toBe(403);
      // And the CLI uses it as its bearer token, as documented.
      const status = await runCli(['status', '--data-dir', dataDir], { MOAT_TOKEN: scoped });
      expect(status.code).toBe(0);
      const tokens = await runCli(['token', 'ls', '--data-dir', dataDir], { MOAT_TOKEN: scoped });
      expect(tokens.code).toBe(1);
      expect(tokens.stderr).toMatch(/scope_required/);
      expect(serve.stderr()).not.toMatch(/unknown environment variable MOAT_TOKEN/);
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
  });

  it.each([
    ['MOAT_ADMIN_TOKEN', (t: string) => ({ args: [] as string[], env: { MOAT_ADMIN_TOKEN: t } })],
    ['--admin-token', (t: string) => ({ args: ['--admin-token', t], env: {} })],
  ])("refuses (exit 78) an admin token given with %s that is a scoped token's secret, without echoing it", async (origin, how) => {
    const { dataDir, scoped } = await dataDirWithScopedToken();
    const { args, env } = how(scoped);
    const r = await runCli(['serve', '--data-dir', dataDir, '--port', '0', ...args], env);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`^moat: the admin token given with ${origin} is the secret of the scoped token "cli-user" \\(tok_\\S+\\)`));
    expect(r.stderr).not.toContain(scoped);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses the old server flag --token, saying which flag it is now', async () => {
    const r = await runCli(['serve', '--data-dir', tmpDir(), '--port', '0', '--token', 'x'.repeat(40)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("moat: --token is the CLI's bearer token; moat serve takes its admin token as --admin-token (or MOAT_ADMIN_TOKEN)\n");
  });
});

describe('the doctor names where the admin token was given', () => {
  const token = randomBytes(32).toString('base64url');
  it.each([
    [
      'the config file',
      'auth.token in the config file',
      () => {
        const file = join(tmpDir(), 'moat.json');
        writeFileSync(file, JSON.stringify({ auth: { token } }), { mode: 0o600 });
        return { file };
      },
    ],
    ['the environment', 'MOAT_ADMIN_TOKEN', () => ({ env: { MOAT_ADMIN_TOKEN: token } })],
    ['a flag', '--admin-token', () => ({ flags: { 'admin-token': token } })],
  ] as const)('an admin token from %s is reported as given with %s', async (_from, origin, extra) => {
    const g = await startGateway({}, extra());
    try {
      const report = await doctorReport(g);
      expect(check(report, 'admin-token.strength').finding).toMatch(
        new RegExp(`^the admin token given with ${origin.replace('.', '\\.')} looks random \\(about \\d+ bits\\)$`),
      );
      expect(check(report, 'admin-token.file').finding).toBe(`the admin token is given with ${origin}; gateway-token is not used`);
      expect(JSON.stringify(report)).not.toContain(token);
    } finally {
      await g.stop();
    }
  });
});
