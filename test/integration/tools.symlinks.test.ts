/**
 * Symbolic links from outside: links planted in the workspace that point out are refused, links
 * that stay inside work, and a link swapped in between the path check and the open (a
 * deterministic test hook in scoped-fs.ts, unreachable from HTTP) is never followed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setRaceHookForTests } from '../../src/domain/workspaces/scoped-fs.js';
import type { TestGateway } from '../helpers/gateway.js';
import { tmpDir } from '../helpers/gateway.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';

const SECRET = 'the-secret-outside-the-workspace';
let g: TestGateway;
let outside: string;

beforeAll(async () => {
  g = await toolGateway({ tools: { allow: ['fs.delete'] } });
  outside = tmpDir('moat-outside-');
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(outside, 'file.txt'), SECRET);
});
afterAll(async () => {
  await g.stop();
});
afterEach(() => setRaceHookForTests(null));

async function freshRun(): Promise<{ run: string; ws: string }> {
  const run = await createRun(g);
  return { run, ws: join(g.dataDir, 'workspaces', run) };
}

describe('links planted before the call', () => {
  it('refuses reading through a link to a file outside (403 path_outside_workspace)', async () => {
    const { run, ws } = await freshRun();
    symlinkSync(join(outside, 'secret.txt'), join(ws, 'innocent.txt'));
    const res = await invoke(g, run, 'fs.read', { path: 'innocent.txt' });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('path_outside_workspace');
    expect(res.text).not.toContain(SECRET);
    expect(res.text).not.toContain(outside);
  });
  it('refuses listing, reading and writing through a link to a directory outside', async () => {
    const { run, ws } = await freshRun();
    symlinkSync(outside, join(ws, 'docs'));
    expect((await invoke(g, run, 'fs.list', { path: 'docs' })).json.code).toBe('path_outside_workspace');
    expect((await invoke(g, run, 'fs.read', { path: 'docs/secret.txt' })).json.code).toBe('path_outside_workspace');
    expect((await invoke(g, run, 'fs.write', { path: 'docs/planted.txt', content: 'x' })).json.code).toBe('path_outside_workspace');
    expect((await invoke(g, run, 'fs.move', { path: 'docs/secret.txt', destination: 'stolen.txt' })).json.code).toBe('path_outside_workspace');
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe(SECRET);
  });
  it('refuses a relative link that climbs out', async () => {
    const { run, ws } = await freshRun();
    symlinkSync('../../../../../../../../etc/hostname', join(ws, 'host'));
    symlinkSync('..', join(ws, 'up'));
    expect((await invoke(g, run, 'fs.read', { path: 'host' })).json.code).toBe('path_outside_workspace');
    expect((await invoke(g, run, 'fs.list', { path: 'up' })).json.code).toBe('path_outside_workspace');
    expect((await invoke(g, run, 'fs.read', { path: 'up/gateway-token' })).json.code).toBe('path_outside_workspace');
  });
  it('follows a link that stays inside the workspace', async () => {
    const { run, ws } = await freshRun();
    mkdirSync(join(ws, 'real'));
    writeFileSync(join(ws, 'real', 'a.txt'), 'inside');
    symlinkSync('real/a.txt', join(ws, 'alias.txt'));
    symlinkSync('real', join(ws, 'alias-dir'));
    expect((await invoke(g, run, 'fs.read', { path: 'alias.txt' })).json.result.content).toBe('inside');
    expect((await invoke(g, run, 'fs.read', { path: 'alias-dir/a.txt' })).json.result.content).toBe('inside');
  });
  it('lists links as links without following them', async () => {
    const { run, ws } = await freshRun();
    symlinkSync(join(outside, 'secret.txt'), join(ws, 'link'));
    const res = await invoke(g, run, 'fs.list', { path: '.' });
    expect(res.json.result.entries).toEqual([{ name: 'link', type: 'symlink', size: null }]);
  });
  it('deletes and moves a link itself, never its target', async () => {
    const { run, ws } = await freshRun();
    symlinkSync(join(outside, 'secret.txt'), join(ws, 'link-a'));
    symlinkSync(join(outside, 'file.txt'), join(ws, 'link-b'));
    expect((await invoke(g, run, 'fs.delete', { path: 'link-a' })).status).toBe(200);
    expect((await invoke(g, run, 'fs.move', { path: 'link-b', destination: 'moved-link' })).status).toBe(200);
    expect(readdirSync(ws)).toEqual(['moved-link']);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe(SECRET);
    expect(readFileSync(join(outside, 'file.txt'), 'utf8')).toBe(SECRET);
  });
  it('refuses to open a FIFO (it would hang the gateway) with tool_failed', async () => {
    const { run, ws } = await freshRun();
    const { spawnSync } = await import('node:child_process');
    spawnSync('mkfifo', [join(ws, 'pipe')]);
    const res = await invoke(g, run, 'fs.read', { path: 'pipe' });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ code: 'tool_failed', reason: 'not_a_regular_file' });
  });
});

describe('links swapped in during the call (between the check and the open)', () => {
  it('does not follow a file swapped for a link to a secret', async () => {
    const { run, ws } = await freshRun();
    writeFileSync(join(ws, 'report.txt'), 'harmless');
    let swapped = false;
    setRaceHookForTests(() => {
      rmSync(join(ws, 'report.txt'));
      symlinkSync(join(outside, 'secret.txt'), join(ws, 'report.txt'));
      swapped = true;
    });
    const res = await invoke(g, run, 'fs.read', { path: 'report.txt' });
    expect(swapped).toBe(true);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('path_outside_workspace');
    expect(res.text).not.toContain(SECRET);
  });
  it('does not follow a directory swapped for a link (read, list, write)', async () => {
    const { run, ws } = await freshRun();
    const swapDir = () => {
      renameSync(join(ws, 'dir'), join(ws, `dir-${Date.now()}-${readdirSync(ws).length}`));
      symlinkSync(outside, join(ws, 'dir'));
    };
    for (const [tool, args] of [
      ['fs.read', { path: 'dir/file.txt' }],
      ['fs.list', { path: 'dir' }],
      ['fs.write', { path: 'dir/planted.txt', content: 'x' }],
      ['fs.write', { path: 'dir/new/deeper.txt', content: 'x' }],
    ] as const) {
      rmSync(join(ws, 'dir'), { recursive: true, force: true });
      mkdirSync(join(ws, 'dir'));
      writeFileSync(join(ws, 'dir', 'file.txt'), 'harmless');
      setRaceHookForTests(swapDir);
      const res = await invoke(g, run, tool, args);
      setRaceHookForTests(null);
      expect(res.status, `${tool} ${JSON.stringify(args)}`).toBe(403);
      expect(res.json.code).toBe('path_outside_workspace');
      expect(res.text).not.toContain(SECRET);
    }
    expect(readdirSync(outside).sort()).toEqual(['file.txt', 'secret.txt']);
  });
  it('a recursive delete never descends into a directory swapped for a link', async () => {
    const { run, ws } = await freshRun();
    mkdirSync(join(ws, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(ws, 'tree', 'sub', 'a.txt'), 'a');
    setRaceHookForTests(() => {
      rmSync(join(ws, 'tree', 'sub'), { recursive: true });
      symlinkSync(outside, join(ws, 'tree', 'sub'));
    });
    const res = await invoke(g, run, 'fs.delete', { path: 'tree', recursive: true });
    expect(res.status).toBe(200);
    expect(readdirSync(ws)).toEqual([]);
    expect(readdirSync(outside).sort()).toEqual(['file.txt', 'secret.txt']);
  });
  it('a workspace root swapped for a link is caught by the descriptor check', async () => {
    const { run, ws } = await freshRun();
    writeFileSync(join(ws, 'file.txt'), 'harmless');
    setRaceHookForTests(() => {
      renameSync(ws, `${ws}.moved`);
      symlinkSync(outside, ws);
    });
    const res = await invoke(g, run, 'fs.read', { path: 'file.txt' });
    expect(res.json.code).toBe('path_outside_workspace');
    expect(res.text).not.toContain(SECRET);
  });
});
