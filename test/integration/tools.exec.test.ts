/**
 * exec from outside, without the sandbox (so host pids can be checked): argv never reaches a
 * shell, the environment is scrubbed, timeouts kill the whole process group, nothing outlives the
 * call, output and time caps say so, the working directory goes through the path rule.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/gateway.js';
import { eventually, isRunning, pidsWithMarker } from '../helpers/procs.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';

const NODE = process.execPath;

/** A leader that starts a grandchild in its group (ignoring SIGTERM, holding stdout), prints its pid, then waits. */
const TREE = `
const { spawn } = require('node:child_process');
const [marker, leaderIgnoresTerm] = process.argv.slice(2);
const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)", marker], { stdio: 'inherit' });
if (leaderIgnoresTerm === 'yes') process.on('SIGTERM', () => {});
console.log(JSON.stringify({ leader: process.pid, grandchild: child.pid }));
setInterval(() => {}, 1000);
`;

/** A leader that leaves a background process behind in its group and exits at once. */
const LEAVER = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', process.argv[2]], { stdio: 'ignore' });
child.unref();
console.log(JSON.stringify({ grandchild: child.pid }));
`;

let g: TestGateway;
let run: string;
let ws: string;

beforeAll(async () => {
  process.env['TOOLS_TEST_SECRET'] = 'hunter2-gateway-secret';
  process.env['TOOLS_TEST_PASSED'] = 'passed-through-value';
  g = await toolGateway({
    tools: { allow: ['exec'], exec: { sandbox: 'off', timeoutMs: 20_000, maxOutputBytes: 1024, env: ['TOOLS_TEST_PASSED'] } },
  });
  run = await createRun(g);
  ws = realpathSync(join(g.dataDir, 'workspaces', run));
  await invoke(g, run, 'fs.write', { path: 'tree.cjs', content: TREE });
  await invoke(g, run, 'fs.write', { path: 'leaver.cjs', content: LEAVER });
  await invoke(g, run, 'fs.write', { path: 'sub/keep.txt', content: '' });
});
afterAll(async () => {
  delete process.env['TOOLS_TEST_SECRET'];
  delete process.env['TOOLS_TEST_PASSED'];
  await g.stop();
});

const exec = (args: Record<string, unknown>) => invoke(g, run, 'exec', args);

describe('exec without a sandbox', () => {
  it('passes argv as is: no shell expands anything', async () => {
    const hostile = '$(id) `whoami` ; rm -rf / && echo pwned | cat > /tmp/x';
    const res = await exec({ argv: ['echo', hostile, '*'] });
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({ exitCode: 0, signal: null, stdout: `${hostile} *\n`, timedOut: false, truncated: false, sandboxed: false });
  });

  it('gives commands a scrubbed environment: PATH, HOME (the workspace) and the listed names only', async () => {
    const res = await exec({ argv: ['env'] });
    const env = Object.fromEntries(
      (res.json.result.stdout as string)
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: ws, TOOLS_TEST_PASSED: 'passed-through-value' });
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain(g.token);
  });

  it('runs in the workspace, or in a directory of it named through the path rule', async () => {
    expect((await exec({ argv: ['pwd'] })).json.result.stdout).toBe(`${ws}\n`);
    expect((await exec({ argv: ['pwd'], cwd: 'sub' })).json.result.stdout).toBe(`${join(ws, 'sub')}\n`);
    expect((await exec({ argv: ['pwd'], cwd: '../..' })).json.code).toBe('path_invalid');
    expect((await exec({ argv: ['pwd'], cwd: '/' })).json.code).toBe('path_invalid');
    expect((await exec({ argv: ['pwd'], cwd: 'missing' })).json.code).toBe('not_found');
    expect((await exec({ argv: ['pwd'], cwd: 'tree.cjs' })).json).toMatchObject({ code: 'tool_failed', reason: 'not_a_directory' });
  });

  it('returns exit codes, stdin and stderr; a missing program is 422 command_not_found', async () => {
    expect((await exec({ argv: [NODE, '-e', 'process.stderr.write("err"); process.exit(3)'] })).json.result).toMatchObject({ exitCode: 3, stderr: 'err' });
    expect((await exec({ argv: ['cat'], stdin: 'from stdin' })).json.result.stdout).toBe('from stdin');
    expect((await exec({ argv: ['no-such-program-here'] })).json).toMatchObject({ status: 422, code: 'tool_failed', reason: 'command_not_found' });
  });

  it('keeps tools.exec.maxOutputBytes of output and says it truncated', async () => {
    const res = await exec({ argv: [NODE, '-e', 'process.stdout.write("x".repeat(5000))'] });
    expect(res.json.result.stdout).toBe('x'.repeat(1024));
    expect(res.json.result.truncated).toBe(true);
  });

  it('refuses a timeout over tools.exec.timeoutMs (never clamps) and argv schema violations', async () => {
    const res = await exec({ argv: ['true'], timeoutMs: 20_001 });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_failed');
    expect((await exec({ argv: [] })).json.code).toBe('validation_failed');
    expect((await exec({ argv: 'ls -la' })).json.code).toBe('validation_failed');
    expect((await exec({ argv: [''] })).json.code).toBe('validation_failed');
  });

  it('kills the whole process group on timeout: leader and grandchild (which ignores SIGTERM) are gone', async () => {
    const marker = `moat-tree-${randomBytes(6).toString('hex')}`;
    const res = await exec({ argv: [NODE, 'tree.cjs', marker], timeoutMs: 1500 });
    expect(res.status).toBe(200);
    const result = res.json.result;
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
    const { leader, grandchild } = JSON.parse(result.stdout as string) as { leader: number; grandchild: number };
    expect(await eventually(() => !isRunning(grandchild) && !isRunning(leader))).toBe(true);
    expect(pidsWithMarker(marker)).toEqual([]);
  });

  it('escalates to SIGKILL when the leader ignores SIGTERM', async () => {
    const marker = `moat-tree-${randomBytes(6).toString('hex')}`;
    const res = await exec({ argv: [NODE, 'tree.cjs', marker, 'yes'], timeoutMs: 1500 });
    expect(res.json.result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    const { grandchild } = JSON.parse(res.json.result.stdout as string) as { grandchild: number };
    expect(await eventually(() => !isRunning(grandchild))).toBe(true);
    expect(pidsWithMarker(marker)).toEqual([]);
  });

  it('leaves nothing running after a command exits: a background process in its group is killed', async () => {
    const marker = `moat-leaver-${randomBytes(6).toString('hex')}`;
    const res = await exec({ argv: [NODE, 'leaver.cjs', marker] });
    expect(res.json.result).toMatchObject({ exitCode: 0, timedOut: false });
    const { grandchild } = JSON.parse(res.json.result.stdout as string) as { grandchild: number };
    expect(await eventually(() => !isRunning(grandchild))).toBe(true);
    expect(pidsWithMarker(marker)).toEqual([]);
  });
});

describe('deleting a run', () => {
  it('kills its running commands (the whole group), waits for them, then removes the workspace; other runs keep theirs', async () => {
    const doomed = await createRun(g);
    const other = await createRun(g);
    const marker = `moat-doomed-${randomBytes(6).toString('hex')}`;
    const survivor = `moat-survivor-${randomBytes(6).toString('hex')}`;
    // A command that keeps writing into its workspace, with a grandchild that ignores SIGTERM.
    const WRITER = `${TREE}\nsetInterval(() => require('fs').appendFileSync('log.txt', 'x'), 20);`;
    for (const r of [doomed, other]) await invoke(g, r, 'fs.write', { path: 'writer.cjs', content: WRITER });
    const call = invoke(g, doomed, 'exec', { argv: [NODE, 'writer.cjs', marker], timeoutMs: 20_000 });
    const kept = invoke(g, other, 'exec', { argv: [NODE, 'writer.cjs', survivor], timeoutMs: 1500 });
    const doomedDir = join(g.dataDir, 'workspaces', doomed);
    expect(await eventually(() => existsSync(join(doomedDir, 'log.txt')) && pidsWithMarker(marker).length === 2)).toBe(true); // leader and grandchild
    const del = await g.fetch(`/api/v1/runs/${doomed}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await invoke(g, doomed, 'exec', { argv: ['true'] })).json.code).toBe('run_not_found');
    expect((await g.fetch(`/api/v1/runs/${doomed}`, { method: 'DELETE' })).status).toBe(404);
    // By the time DELETE answers, nothing of the run is running and its workspace is gone for good.
    expect(pidsWithMarker(marker)).toEqual([]);
    expect(existsSync(doomedDir)).toBe(false);
    const res = await call;
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({ stopped: true, timedOut: false, signal: 'SIGKILL' });
    const { leader, grandchild } = JSON.parse(res.json.result.stdout as string) as { leader: number; grandchild: number };
    expect([isRunning(leader), isRunning(grandchild)]).toEqual([false, false]);
    // Time itself is the subject here: a while later the workspace is still gone (nothing recreated it).
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(doomedDir)).toBe(false);
    // The other run's command was not touched: it ran to its own timeout.
    expect((await kept).json.result).toMatchObject({ stopped: false, timedOut: true });
    const entries = (await g.fetch('/api/v1/audit?after=0&limit=1000')).json.entries as Array<{ type: string; detail: Record<string, unknown> }>;
    expect(entries.find((e) => e.type === 'run.deleted' && e.detail['runId'] === doomed)?.detail).toMatchObject({ commandsStopped: 1 });
  });
});

describe('exec concurrency', () => {
  it('refuses more than tools.exec.maxConcurrent commands at once with 503 overloaded', async () => {
    const g1 = await toolGateway({ tools: { allow: ['exec'], exec: { sandbox: 'off', maxConcurrent: 1 } } });
    try {
      const r = await createRun(g1);
      const first = invoke(g1, r, 'exec', { argv: [NODE, '-e', "require('fs').writeFileSync('started', ''); setTimeout(() => {}, 1500)"] });
      const started = join(g1.dataDir, 'workspaces', r, 'started');
      expect(await eventually(() => existsSync(started))).toBe(true);
      const second = await invoke(g1, r, 'exec', { argv: ['true'] });
      expect(second.status).toBe(503);
      expect(second.json.code).toBe('overloaded');
      expect(second.headers['retry-after']).toBe('1');
      expect((await first).json.result.exitCode).toBe(0);
      expect((await invoke(g1, r, 'exec', { argv: ['true'] })).status).toBe(200);
    } finally {
      await g1.stop();
    }
  });
});
