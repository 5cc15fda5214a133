/**
 * `moat init` in a fresh home: flags write ~/.moat/moat.json (0600), `moat serve` then reads it and
 * the printed curl lines work as printed; a re-run keeps the file and says so; on a terminal it asks
 * (driven through a pseudo-terminal, one answer per prompt).
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MAIN, cleanEnv, runCli, spawnServe } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/services.js';

const sh = promisify(execFile);

/** A stand-in for a model server: answers every path with 200 and what it was asked. */
async function standIn(): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ standIn: true, path: req.url, authorization: req.headers.authorization ?? null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

describe('moat init with flags', () => {
  it('writes ~/.moat/moat.json 0600; moat serve reads it; the printed curl lines work as printed', async () => {
    const home = tmpDir('moat-home-');
    const upstream = await standIn();
    const port = await freePort();
    try {
      const init = await runCli(['init', '--port', String(port), '--service', `llm=${upstream.url}`], { HOME: home });
      expect(init.code, init.stderr).toBe(0);
      const file = join(home, '.moat', 'moat.json');
      expect(init.stdout.split('\n')[0]).toBe(`wrote ${file} (mode 0600): port ${port}, services: llm`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, '.moat')).mode & 0o777).toBe(0o700);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ port, services: [{ name: 'llm', kind: 'url', baseUrl: upstream.url }] });
      expect(init.stdout).toMatch(/^ {2}moat serve {2,}# listens on/m);

      const serve = await spawnServe([], { HOME: home });
      try {
        expect(serve.url).toBe(`http://127.0.0.1:${port}`);
        expect(serve.stdout()).toContain(`config file ${file}`);
        const curls = init.stdout
          .split('\n')
          .filter((l) => l.trim().startsWith('curl '))
          .map((l) => l.trim());
        expect(curls).toHaveLength(2);
        const status = await sh('bash', ['-c', `${curls[0]} -sf`], { env: cleanEnv({ HOME: home }) });
        expect(JSON.parse(status.stdout)).toMatchObject({ bind: { port }, auth: { enabled: true } });
        // The service line, once its first health probe has passed; the admin token is not forwarded.
        const proxied = await waitFor(async () => {
          const r = await sh('bash', ['-c', `${curls[1]} -s`], { env: cleanEnv({ HOME: home }) });
          const body = JSON.parse(r.stdout) as { standIn?: boolean; authorization?: string | null };
          return body.standIn ? body : null;
        }, 'the service through Moat');
        expect(proxied).toMatchObject({ path: '/', authorization: null });
      } finally {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
    } finally {
      upstream.close();
    }
  });

  it('is safe to re-run: keeps the file, says what it kept, applies no flag', async () => {
    const home = tmpDir('moat-home-');
    await runCli(['init', '--port', '7901', '--service', 'ollama=http://127.0.0.1:11434'], { HOME: home });
    const file = join(home, '.moat', 'moat.json');
    const before = readFileSync(file, 'utf8');
    const again = await runCli(['init', '--port', '7999', '--service', 'other=http://127.0.0.1:1'], { HOME: home });
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n').slice(0, 2)).toEqual([
      `kept ${file} as it is (port 7901, services: ollama); edit it, or remove it and run moat init again`,
      '(--port and --service were not applied: the file exists)',
    ]);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it.each([
    [['--service', 'Ollama=http://x'], /--service takes <name>=<url>/],
    [['--service', 'ollama=ftp://x'], /--service takes <name>=<url>/],
    [['--port', '70000'], /--port must be 1-65535/],
    [['--service', 'a=http://127.0.0.1:1', '--service', 'a=http://127.0.0.1:2'], /service a is given twice/],
  ])('refuses %j with exit 2 and writes nothing', async (args, message) => {
    const dataDir = join(tmpDir(), 'd');
    const r = await runCli(['init', '--data-dir', dataDir, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(() => statSync(join(dataDir, 'moat.json'))).toThrow();
  });
});

describe('moat init on a terminal', () => {
  it('asks for the port and services, one prompt at a time, and writes what was answered', async () => {
    const dataDir = join(tmpDir(), 'moat');
    const answers: Array<[RegExp, string]> = [
      [/Port to listen on \(loopback only\) \[7878\]: $/, '7902'],
      [/Service name \(e\.g\. ollama; empty: none\): $/, 'ollama'],
      [/URL of ollama \(e\.g\. http:\/\/127\.0\.0\.1:11434\): $/, 'http://127.0.0.1:11434'],
      [/Service name \(empty: done\): $/, ''],
    ];
    const command = [process.execPath, MAIN, 'init', '--data-dir', dataDir].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let next = 0;
    child.stdout.on('data', (d) => {
      screen += d;
      const pending = answers[next];
      // Readline on a terminal moves the cursor with CSI sequences: compare the text only.
      // eslint-disable-next-line no-control-regex
      if (pending?.[0].test(screen.replace(/\u001b\[[0-9;]*[A-Za-z]|\r/g, ''))) {
        next++;
        child.stdin.write(`${pending[1]}\r`);
      }
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`moat init did not finish:\n${screen}`));
      }, 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, screen).toBe(0);
    expect(next).toBe(answers.length);
    expect(JSON.parse(readFileSync(join(dataDir, 'moat.json'), 'utf8'))).toEqual({
      port: 7902,
      services: [{ name: 'ollama', kind: 'url', baseUrl: 'http://127.0.0.1:11434' }],
    });
    expect(screen).toContain(`wrote ${join(dataDir, 'moat.json')} (mode 0600): port 7902, services: ollama`);
  });
});
