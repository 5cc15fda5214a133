/**
 * `moat serve` as a newcomer meets it: a port in use is one line naming who holds it (exit 78),
 * logs are human lines on a terminal (JSON otherwise, or with --log-format json) with secrets still
 * redacted, a clean stop says so, and <dataDir>/moat.json is read (and named) when no --config is given.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, cleanEnv, runCli, spawnServe } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/services.js';

describe('a port in use', () => {
  it('names the other Moat gateway (pid and data dir) and exits 78 in one line', async () => {
    const port = await freePort();
    const first = tmpDir();
    const a = await spawnServe(['--data-dir', first, '--port', String(port)]);
    try {
      const r = await runCli(['serve', '--data-dir', tmpDir(), '--port', String(port)]);
      expect(r.code).toBe(78);
      expect(r.stderr).toBe(
        `moat: port 127.0.0.1:${port} is in use by another Moat gateway (pid ${a.child.pid}, data dir ${first}): stop it (kill ${a.child.pid}, or Ctrl-C where it runs) or give this one another port (--port ${port + 1}, MOAT_PORT or "port" in the config file)\n`,
      );
    } finally {
      a.child.kill('SIGTERM');
      await a.exited;
    }
  });

  it('names any other process holding it', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['serve', '--data-dir', tmpDir(), '--port', String(port)]);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(new RegExp(`^moat: port 127\\.0\\.0\\.1:${port} is in use by pid ${process.pid} \\(\\S*node[^)]*\\): stop it`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});

/** Runs `moat serve` under a pseudo-terminal (util-linux `script`), types Ctrl-C once it listens; returns what the terminal showed. */
function serveOnTerminal(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, MAIN, 'serve', ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no clean stop on the terminal:\n${out}`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (/moat listening on/.test(out) && !child.stdin.writableEnded) child.stdin.end('\u0003');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('log format', () => {
  it('is human lines on a terminal, and a Ctrl-C ends with a final line', async () => {
    const dataDir = tmpDir();
    const screen = await serveOnTerminal(['--data-dir', dataDir, '--port', '0']);
    // eslint-disable-next-line no-control-regex
    const lines = screen
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split(/\r?\n/)
      .filter(Boolean);
    expect(
      lines.some((l) => /^\d\d:\d\d:\d\d INFO {2}MOAT_SECURITY bind=/.test(l)),
      screen,
    ).toBe(true);
    expect(screen).not.toMatch(/"level":\d+/);
    expect(lines.at(-1)).toBe(`moat stopped (SIGINT); ${dataDir} keeps its state for the next start`);
  });

  it('is JSON when stderr is not a terminal, and with --log-format json', async () => {
    for (const args of [[], ['--log-format', 'json']]) {
      const s = await spawnServe(['--data-dir', tmpDir(), '--port', '0', ...args]);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
      const first = s.stderr().split('\n')[0] as string;
      expect(JSON.parse(first)).toMatchObject({ level: 30, msg: expect.stringMatching(/^MOAT_SECURITY /) });
      expect(s.stdout()).toMatch(/moat stopped \(SIGTERM\)/);
    }
  });

  it('keeps secrets out of pretty lines (MOAT_LOG_FORMAT=pretty): refused tokens and pairing codes are never shown', async () => {
    const s = await spawnServe(['--data-dir', tmpDir(), '--port', '0'], { MOAT_LOG_FORMAT: 'pretty' });
    const secrets = ['moat_PRETTYSECRETPRETTYSECRETPRETTYSECRET12345', 'not-a-moat-token-but-secret-0123456789', '482913'];
    try {
      await fetch(`${s.url}/api/v1/status`, { headers: { authorization: `Bearer ${secrets[0]}` } });
      await fetch(`${s.url}/api/v1/status`, { headers: { authorization: `Basic ${Buffer.from(`u:${secrets[1]}`).toString('base64')}` } });
      await fetch(`${s.url}/api/v1/pair`, { method: 'POST', headers: { 'x-pairing-code': secrets[2] as string } });
      await waitFor(() => (s.stderr().match(/refused: /g) ?? []).length >= 3, 'three refusals in the log');
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    const log = s.stderr();
    expect(log).toMatch(/^\d\d:\d\d:\d\d WARN {2}refused: token unknown, expired or revoked .*client=127\.0\.0\.1 .*code=token_invalid$/m);
    expect(log).toMatch(/^\d\d:\d\d:\d\d WARN {2}refused: pairing code unknown, used or expired .*code=pairing_code_invalid$/m);
    expect(log).not.toMatch(/^\{/m);
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toContain(Buffer.from(`u:${secrets[1]}`).toString('base64'));
  });
});

describe('the config file of the data dir', () => {
  it('is read when no --config is given, and named at boot', async () => {
    const dataDir = tmpDir();
    const port = await freePort();
    writeFileSync(join(dataDir, 'moat.json'), JSON.stringify({ port }), { mode: 0o600 });
    const s = await spawnServe(['--data-dir', dataDir]);
    s.child.kill('SIGTERM');
    await s.exited;
    expect(s.url).toBe(`http://127.0.0.1:${port}`);
    expect(s.stdout()).toContain(`config file ${join(dataDir, 'moat.json')}\n`);
  });

  it('says there is none (and where moat init would write it)', async () => {
    const dataDir = tmpDir();
    const s = await spawnServe(['--data-dir', dataDir, '--port', '0']);
    s.child.kill('SIGTERM');
    await s.exited;
    expect(s.stdout()).toContain(`no config file (moat init writes ${join(dataDir, 'moat.json')})\n`);
  });

  it('refuses one writable by others (exit 78)', async () => {
    const dataDir = tmpDir();
    writeFileSync(join(dataDir, 'moat.json'), '{}');
    chmodSync(join(dataDir, 'moat.json'), 0o666);
    const r = await runCli(['serve', '--data-dir', dataDir, '--port', '0']);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/moat\.json is writable by others \(mode 0666\); run chmod 600/);
  });

  it('refuses one that names another data dir (exit 78): the file of ~/.moat cannot move the state elsewhere', async () => {
    const home = tmpDir();
    mkdirSync(join(home, '.moat'), { mode: 0o700 });
    writeFileSync(join(home, '.moat', 'moat.json'), JSON.stringify({ dataDir: tmpDir(), port: 0 }), { mode: 0o600 });
    const r = await runCli(['serve'], { HOME: home });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/the moat\.json of a data dir cannot move it/);
  });
});
