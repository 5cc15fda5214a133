/**
 * README.md as written: its shell blocks run, line by line, in a fresh HOME, as a newcomer would
 * (so the README cannot drift from what works). Changed only where a test must: `npm install` is
 * skipped (the checkout is installed: npm test built it), `npm link` links into a temporary prefix,
 * MOAT_PORT=0 keeps off ports other tests may use, and the example worker gets a free port. Commands
 * the README says run "until Ctrl-C" run in the background until they have shown their first
 * output, then get a SIGINT and must stop cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sh = promisify(execFile);

/** The ```sh blocks of README.md, each a list of commands with their trailing comment. */
function shellBlocks(markdown: string): Array<Array<{ command: string; comment: string }>> {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return blocks.map((text) =>
    text
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line) => {
        // A comment starts at a # after whitespace, outside quotes.
        let quote: string | null = null;
        for (let i = 0; i < line.length; i++) {
          const c = line[i] as string;
          if (quote) {
            if (c === quote) quote = null;
          } else if (c === "'" || c === '"') quote = c;
          else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] as string))) return { command: line.slice(0, i).trim(), comment: line.slice(i + 1).trim() };
        }
        return { command: line.trim(), comment: '' };
      }),
  );
}

const untilCtrlC = (comment: string) => /until Ctrl-C/.test(comment);

interface Background {
  out: () => string;
  /** Ctrl-C; resolves with the exit code (null when a signal ended it). */
  stop: () => Promise<number | null>;
  exitCode: () => number | null;
}

let home: string;
let checkout: string;
let env: NodeJS.ProcessEnv;
const running: Background[] = [];

/** A command in bash, as typed, in the fresh environment. */
async function run(command: string): Promise<{ stdout: string; stderr: string }> {
  try {
    // npm link builds the project (its prepare script): minutes, not seconds, on a loaded machine.
    return await sh('bash', ['-c', `set -euo pipefail\n${command}`], { cwd: checkout, env, timeout: 240_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`README command failed: ${command}\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** A command that runs until Ctrl-C, started in the background (bash execs its last command). */
function start(setup: string[], command: string): Background {
  const child = spawn('bash', ['-c', [...setup, `exec ${command}`].join('\n')], { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const b: Background = {
    out: () => out,
    exitCode: () => child.exitCode,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      return exited;
    },
  };
  running.push(b);
  return b;
}

async function until(b: Background, ready: RegExp, what: string): Promise<void> {
  await waitFor(() => ready.test(b.out()) || b.exitCode() !== null, what, 30_000);
  if (!ready.test(b.out())) throw new Error(`${what}: it exited ${b.exitCode()}:\n${b.out()}`);
}

beforeAll(async () => {
  home = tmpDir('moat-readme-home-');
  const prefix = tmpDir('moat-readme-prefix-');
  // The checkout as a newcomer has it (links to this one), with the example's worker port made free.
  checkout = tmpDir('moat-readme-checkout-');
  for (const name of readdirSync(ROOT)) if (!['examples', '.git', '.moat-dev'].includes(name)) symlinkSync(join(ROOT, name), join(checkout, name));
  mkdirSync(join(checkout, 'examples'));
  symlinkSync(join(ROOT, 'examples', 'gpu-worker'), join(checkout, 'examples', 'gpu-worker'));
  const example = readFileSync(join(ROOT, 'examples', 'moat.json'), 'utf8').replace('http://127.0.0.1:8188', `http://127.0.0.1:${await freePort()}`);
  writeFileSync(join(checkout, 'examples', 'moat.json'), example);
  env = cleanEnv({
    HOME: home,
    PATH: `${join(prefix, 'bin')}:${process.env['PATH']}`,
    MOAT_PORT: '0',
    npm_config_prefix: prefix,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  });
});

afterAll(async () => {
  for (const b of running.splice(0)) await b.stop();
});

describe('README.md, run as written', () => {
  const blocks = shellBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('has the blocks this test walks through', () => {
    expect(blocks.map((b) => b.map((l) => l.command.split(' ').slice(0, 2).join(' ')))).toEqual([
      ['npm install', 'npm test'],
      ['npm link', 'moat init', 'moat serve'],
      ['moat status', 'moat token', 'moat pair', 'moat audit', 'moat audit'],
      ['moat serve'],
      ['export MOAT_DATA_DIR=.moat-dev', 'moat service', 'moat job', 'TOKEN=$(moat token', 'URL=$(node -p', 'curl -H', 'curl -N', 'moat events'],
    ]);
  });

  it('quick start, five minutes, and the example, each command as printed', async () => {
    // The first block (npm install && npm start, npm test) is what this suite is run by and the
    // 'npm start' case below; the quick start proper links the command and serves.
    const [, quick, five, exampleServe, example] = blocks as [
      (typeof blocks)[0],
      (typeof blocks)[0],
      (typeof blocks)[0],
      (typeof blocks)[0],
      (typeof blocks)[0],
    ];
    let first: Background | undefined;
    for (const { command, comment } of quick) {
      if (command === 'npm install') continue;
      if (untilCtrlC(comment)) {
        first = start([], command);
        await until(first, /moat listening on \S+/, command);
        expect(first.out()).toContain(`config file ${join(home, '.moat', 'moat.json')}`);
        expect(first.out()).toContain(`admin token in ${join(home, '.moat', 'gateway-token')}`);
        continue;
      }
      const r = await run(command);
      if (command === 'moat init') expect(r.stdout).toContain(`wrote ${join(home, '.moat', 'moat.json')} (mode 0600)`);
    }
    expect((await run('command -v moat')).stdout.trim()).toBe(join(env['npm_config_prefix'] as string, 'bin', 'moat'));

    // Five minutes with Moat, in another terminal.
    const outputs: string[] = [];
    for (const { command } of five) outputs.push((await run(command)).stdout);
    expect(outputs[0]).toMatch(/^bind\s+127\.0\.0\.1:\d+ \(loopback\)$/m);
    expect(outputs[1]).toMatch(/^moat_\S+\n$/);
    expect(outputs[2]).toMatch(/^\d{6}\n$/);
    expect(outputs[3]).toMatch(/^SEQ\s+TIME\s+TYPE/);
    expect(outputs[4]).toMatch(/^audit chain ok/);

    // The example: a second gateway beside the first.
    const second = start([], (exampleServe[0] as { command: string }).command);
    await until(second, /moat listening on \S+/, 'the example gateway');
    expect(second.out()).toContain(`config file ${join(checkout, 'examples', 'moat.json')}`);

    // Its second terminal: one shell, so that export and variables carry from line to line.
    const lines = example.filter((l) => !untilCtrlC(l.comment)).map((l) => l.command);
    const script = await run(lines.join('\n'));
    expect(script.stdout).toMatch(/^worker\s+command\s+/m);
    expect(script.stdout).toMatch(/^job_\S+ succeeded\n\{"echo":\{"steps":5,"stepMs":300\}\}$/m);
    expect(script.stdout).toMatch(/"ok":true/); // the proxied health
    expect(script.stdout.match(/data: chunk \d/g)?.length).toBe(5); // five SSE events, as produced (curl adds no newline after the health JSON)

    // `moat events` shows a job submitted meanwhile, until Ctrl-C.
    const exports = example.filter((l) => l.command.startsWith('export ')).map((l) => l.command);
    const events = start(exports, (example.find((l) => untilCtrlC(l.comment)) as { command: string }).command);
    await waitFor(
      async () => {
        await run(`${exports.join('\n')}\nmoat job submit worker --payload '{"steps":1,"stepMs":1}' --wait`);
        return /^job\.succeeded /m.test(events.out());
      },
      'a job in moat events',
      30_000,
    );
    await events.stop();

    // Ctrl-C stops each gateway cleanly, with its final line.
    for (const g of [second, first as Background]) {
      expect(await g.stop()).toBe(0);
      expect(g.out()).toMatch(/moat stopped \(SIGINT\)/);
    }
  }, 480_000);
});

describe('npm start', () => {
  it('starts from dist/ without rebuilding it when it is fresh (no build chatter)', async () => {
    await run('npm start -- --help'); // builds once if a source is newer than dist/
    const again = await run('npm start -- --help');
    expect(again.stdout).toMatch(/Usage: moat serve/);
    expect(`${again.stdout}${again.stderr}`).not.toMatch(/building dist|> moat@\S+ (build|prestart)|tsc -p/);
  }, 120_000);
});
