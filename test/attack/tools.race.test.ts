/**
 * Attack: a directory swapped for a symbolic link (and back) while the file tools resolve paths
 * through it. Another process (a real child, as a job or a command in the workspace would be)
 * flips `d` between a directory and a link to `real` as fast as it can; every tool call must answer
 * with its result or a 4xx problem (409 path_changed, 404, 403, 422), never a 500, and the gateway
 * keeps serving. Bounded: a fixed number of calls. The window in which realpath reads a link that
 * is a directory again (EINVAL, which was a 500) is narrow, about 1 in 4,000 resolutions here: the
 * HTTP calls check the whole path, and up to 60,000 resolutions through the path rule itself (the one
 * function every tool goes through) hit it within seconds on an idle machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStillServing } from '../helpers/attack.js';
import type { TestGateway } from '../helpers/gateway.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';
import { resolveClientPath } from '../../src/domain/workspaces/scope.js';
import { isGatewayError } from '../../src/errors.js';
import { realpathSync } from 'node:fs';

/**
 * Flips <ws>/d between an (empty) directory and a link to <ws>/real until killed: the directory is
 * renamed in and out rather than rebuilt, so that each state lasts as short a time as possible.
 */
const FLIPPER = `
const fs = require('node:fs');
const path = require('node:path');
const ws = process.argv[1];
const d = path.join(ws, 'd');
const tmp = path.join(ws, 'd.tmp');
process.stdout.write('ready\\n');
for (;;) {
  try { fs.mkdirSync(tmp); } catch {}
  try { fs.rmSync(d, { force: true }); } catch {}
  try { fs.renameSync(tmp, d); } catch {}
  try { fs.renameSync(d, tmp); } catch {}
  try { fs.symlinkSync('real', d); } catch {}
}
`;

let g: TestGateway;
let run: string;
let flipper: ChildProcess;
let ws: string;

beforeAll(async () => {
  g = await toolGateway({ logLevel: 'error', tools: { allow: ['fs.delete'] } });
  run = await createRun(g);
  ws = realpathSync(join(g.dataDir, 'workspaces', run));
  mkdirSync(join(ws, 'real'));
  writeFileSync(join(ws, 'real', 'f'), 'link');
  flipper = spawn(process.execPath, ['-e', FLIPPER, ws], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => flipper.stdout!.once('data', () => resolve()));
});
afterAll(async () => {
  flipper?.kill('SIGKILL');
  await g?.stop();
});

describe('a directory swapped for a link during file tools', () => {
  it('answers 400 calls with results or 4xx problems, never a 500', async () => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ['fs.read', { path: 'd/f' }],
      ['fs.list', { path: 'd' }],
      ['fs.read', { path: 'd/../d/f' }],
      ['fs.write', { path: 'd/new.txt', content: 'x' }],
    ];
    const statuses = new Map<number, number>();
    const codes = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const [tool, args] = calls[i % calls.length] as [string, Record<string, unknown>];
      const res = await invoke(g, run, tool, args);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 400) codes.add(res.json?.code);
      if (res.status >= 500) throw new Error(`${tool} ${JSON.stringify(args)} answered ${res.status}: ${res.text}`);
    }
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(codes.has('internal')).toBe(false);
    await expectStillServing(g);
  });

  it('resolves paths through the swapping directory with an answer or a 4xx problem (409 path_changed), never a raw error', () => {
    const roots = { workspace: { label: 'workspace', hostPath: ws, readOnly: false }, mounts: new Map() };
    const outcomes = new Map<string, number>();
    // Bounded in count and time; done early once the narrow window was hit a few times.
    const end = Date.now() + 20_000;
    for (let i = 0; i < 60_000 && Date.now() < end && (outcomes.get('path_changed') ?? 0) < 5; i++) {
      let outcome = 'resolved';
      try {
        resolveClientPath(roots, 'd/f', 'read');
      } catch (err) {
        if (!isGatewayError(err)) throw new Error(`a raw error escaped the path rule: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        expect(err.status).toBeGreaterThanOrEqual(400);
        expect(err.status).toBeLessThan(500);
        outcome = err.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get('resolved')).toBeGreaterThan(0);
  });
});
