/**
 * Operator mounts from outside: the policy endpoint names them and never shows a host path,
 * read-only mounts refuse every write, writable ones need mount.write in tools.allow (deny wins).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/gateway.js';
import { tmpDir } from '../helpers/gateway.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';

function mountDirs() {
  const ro = tmpDir('moat-ro-mount-');
  const rw = tmpDir('moat-rw-mount-');
  writeFileSync(join(ro, 'manual.md'), 'read me');
  mkdirSync(join(ro, 'sub'));
  writeFileSync(join(rw, 'data.csv'), 'a,b');
  return { ro, rw };
}

const mountsOf = (d: { ro: string; rw: string }) => [
  { name: 'manuals', path: d.ro, readOnly: true },
  { name: 'shared', path: d.rw, readOnly: false },
];

describe('the workspace policy endpoint', () => {
  let g: TestGateway;
  let dirs: { ro: string; rw: string };
  beforeAll(async () => {
    dirs = mountDirs();
    g = await toolGateway({ mounts: mountsOf(dirs) });
  });
  afterAll(async () => {
    await g.stop();
  });

  it('returns the mode and mount names with their read-only flag', async () => {
    const res = await g.fetch('/api/v1/workspace/policy');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      mode: 'per-run',
      mounts: [
        { name: 'manuals', readOnly: true },
        { name: 'shared', readOnly: false },
      ],
    });
  });

  it('never reveals a host path, in the policy or in any reply about runs and tools', async () => {
    const run = await createRun(g, { workspace: { mounts: ['manuals', 'shared'] } });
    const replies = [
      await g.fetch('/api/v1/workspace/policy'),
      await g.fetch('/api/v1/runs'),
      await g.fetch(`/api/v1/runs/${run}`),
      await g.fetch('/api/v1/tools'),
      await invoke(g, run, 'fs.list', { path: 'mount:manuals' }),
      await invoke(g, run, 'fs.read', { path: 'mount:manuals/missing' }),
      await invoke(g, run, 'fs.write', { path: 'mount:manuals/x', content: 'x' }),
      await invoke(g, run, 'fs.read', { path: 'mount:nope/x' }),
      await invoke(g, run, 'fs.read', { path: 'mount:manuals/sub' }),
    ];
    const hostPaths = [dirs.ro, dirs.rw, realpathSync(dirs.ro), realpathSync(dirs.rw), g.dataDir, join(g.dataDir, 'workspaces')];
    for (const res of replies) {
      for (const p of hostPaths) expect(res.text, res.text).not.toContain(p);
      expect(res.text).not.toMatch(/\/tmp\//);
    }
  });
});

describe('read-only mounts', () => {
  let g: TestGateway;
  let dirs: { ro: string; rw: string };
  let run: string;
  beforeAll(async () => {
    dirs = mountDirs();
    // Even with every write opened, a read-only mount stays read-only.
    g = await toolGateway({ mounts: mountsOf(dirs), tools: { allow: ['fs.delete', 'mount.write'] } });
    run = await createRun(g, { workspace: { mounts: ['manuals'] } });
  });
  afterAll(async () => {
    await g.stop();
  });

  it('can be listed and read', async () => {
    expect((await invoke(g, run, 'fs.read', { path: 'mount:manuals/manual.md' })).json.result.content).toBe('read me');
  });
  it.each([
    ['fs.write', { path: 'mount:manuals/new.md', content: 'x' }],
    ['fs.write', { path: 'mount:manuals/manual.md', content: 'overwritten' }],
    ['fs.delete', { path: 'mount:manuals/manual.md' }],
    ['fs.delete', { path: 'mount:manuals/sub', recursive: true }],
    ['fs.move', { path: 'mount:manuals/manual.md', destination: 'stolen.md' }],
    ['fs.move', { path: 'mount:manuals/manual.md', destination: 'mount:manuals/renamed.md' }],
  ] as const)('refuses %s %j with 403 path_read_only', async (tool, args) => {
    const res = await invoke(g, run, tool, args);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('path_read_only');
  });
  it('refuses moving a workspace file into it', async () => {
    await invoke(g, run, 'fs.write', { path: 'mine.txt', content: 'x' });
    expect((await invoke(g, run, 'fs.move', { path: 'mine.txt', destination: 'mount:manuals/mine.txt' })).json.code).toBe('path_read_only');
  });
  it('left the mount untouched', () => {
    expect(readdirSync(dirs.ro).sort()).toEqual(['manual.md', 'sub']);
    expect(readFileSync(join(dirs.ro, 'manual.md'), 'utf8')).toBe('read me');
  });
});

describe('writable mounts', () => {
  it('refuse writes by default: mount.write is high risk (403 tool_denied)', async () => {
    const dirs = mountDirs();
    const g = await toolGateway({ mounts: mountsOf(dirs) });
    try {
      const run = await createRun(g, { workspace: { mounts: ['shared'] } });
      const res = await invoke(g, run, 'fs.write', { path: 'mount:shared/out.csv', content: 'x' });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ code: 'tool_denied', tool: 'fs.write', risk: 'high', policy: 'mount.write' });
      expect((await invoke(g, run, 'fs.move', { path: 'mount:shared/data.csv', destination: 'mine.csv' })).json.code).toBe('tool_denied');
      expect((await invoke(g, run, 'fs.read', { path: 'mount:shared/data.csv' })).json.result.content).toBe('a,b');
      expect((await g.fetch('/api/v1/tools')).json.mountWrite).toEqual({ risk: 'high', allowed: false });
      expect(existsSync(join(dirs.rw, 'out.csv'))).toBe(false);
    } finally {
      await g.stop();
    }
  });
  it('take writes, moves and deletes when tools.allow has mount.write', async () => {
    const dirs = mountDirs();
    const g = await toolGateway({ mounts: mountsOf(dirs), tools: { allow: ['mount.write', 'fs.delete'] } });
    try {
      const run = await createRun(g, { workspace: { mounts: ['shared'] } });
      expect((await invoke(g, run, 'fs.write', { path: 'mount:shared/out.csv', content: '1,2' })).status).toBe(200);
      expect(readFileSync(join(dirs.rw, 'out.csv'), 'utf8')).toBe('1,2');
      await invoke(g, run, 'fs.write', { path: 'draft.txt', content: 'draft' });
      expect((await invoke(g, run, 'fs.move', { path: 'draft.txt', destination: 'mount:shared/final.txt' })).status).toBe(200);
      expect(readFileSync(join(dirs.rw, 'final.txt'), 'utf8')).toBe('draft');
      expect((await invoke(g, run, 'fs.delete', { path: 'mount:shared/data.csv' })).status).toBe(200);
      expect(readdirSync(dirs.rw).sort()).toEqual(['final.txt', 'out.csv']);
    } finally {
      await g.stop();
    }
  });
  it('refuse writes when tools.deny has mount.write, whatever tools.allow says (deny wins)', async () => {
    const dirs = mountDirs();
    const g = await toolGateway({ mounts: mountsOf(dirs), tools: { allow: ['mount.write'], deny: ['mount.write'] } });
    try {
      const run = await createRun(g, { workspace: { mounts: ['shared'] } });
      expect((await invoke(g, run, 'fs.write', { path: 'mount:shared/out.csv', content: 'x' })).json.code).toBe('tool_denied');
      expect((await invoke(g, run, 'fs.write', { path: 'in-workspace.txt', content: 'x' })).status).toBe(200);
    } finally {
      await g.stop();
    }
  });
});
