/**
 * The workspace quota from outside, as a `tools` token trying to fill the disk: every way of growing
 * a full workspace is refused with 507 workspace_full and writes nothing; replacing a file counts the
 * difference, deletes give room back, parallel writes never share the last free block, links and
 * hard links neither escape the count nor the workspace, a command that goes over stops the next
 * one, the quota is live, and the count survives a restart. Quota 64 KiB = 16 blocks of 4 KiB. A
 * token cannot get round it by creating many runs: its runs share tools.maxBytesPerToken.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { auditEntries, createRun, invoke, tokenWith, toolGateway } from '../helpers/tools.js';

const BLOCK = 4096;
const QUOTA = 16 * BLOCK;
const NODE = process.execPath;

let g: TestGateway;
let agent: string;
let mountDir: string;

const config = () => ({
  mounts: [{ name: 'scratch', path: mountDir, readOnly: false }],
  tools: {
    allow: ['fs.delete', 'exec', 'mount.write'],
    maxWriteBytes: 4 * BLOCK,
    maxWorkspaceBytes: QUOTA,
    maxBytesPerToken: 1024 * QUOTA,
    exec: { sandbox: 'off' },
  },
  limits: { maxInflight: 256, maxInflightPerToken: 128, maxInflightPerClient: 128 },
});

beforeAll(async () => {
  mountDir = tmpDir('moat-quota-mount-');
  g = await toolGateway(config());
  agent = await tokenWith(g, 'agent', ['tools']);
});
afterAll(async () => {
  await g.stop();
});

const call = (run: string, tool: string, args: Record<string, unknown>) => invoke(g, run, tool, args, agent);
const bytes = (n: number, fill = 'x') => fill.repeat(n);
const wsOf = (run: string) => join(g.dataDir, 'workspaces', run);

/** A fresh run of the agent's whose workspace holds `blocks` files of one block each (f0, f1, ...). */
async function runWith(blocks: number): Promise<string> {
  const run = await createRun(g, { workspace: { mounts: ['scratch'] } }, agent);
  for (let i = 0; i < blocks; i++) {
    const res = await call(run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) });
    expect(res.status, res.text).toBe(200);
  }
  return run;
}

function expectFull(res: { status: number; json: any; headers?: unknown }, need?: number): void {
  expect(res.status).toBe(507);
  expect(res.json).toMatchObject({ code: 'workspace_full', quota: 'tools.maxWorkspaceBytes', limitBytes: QUOTA });
  if (need !== undefined) expect(res.json.neededBytes).toBe(need);
}

describe('a full workspace refuses every way of growing it, and nothing is written', () => {
  let run: string;
  let ws: string;
  beforeAll(async () => {
    run = await runWith(16);
    ws = wsOf(run);
    mkdirSync(join(mountDir, 'tree', 'inner'), { recursive: true });
    writeFileSync(join(mountDir, 'tree', 'inner', 'big.bin'), bytes(3 * BLOCK));
    writeFileSync(join(mountDir, 'one.txt'), 'one');
  });
  const GROW: Array<[string, string, Record<string, unknown>, number, () => void]> = [
    ['a new one-byte file', 'fs.write', { path: 'new.txt', content: 'x' }, BLOCK, () => expect(existsSync(join(ws, 'new.txt'))).toBe(false)],
    [
      'a new empty file (every entry costs a block)',
      'fs.write',
      { path: 'empty.txt', content: '' },
      BLOCK,
      () => expect(existsSync(join(ws, 'empty.txt'))).toBe(false),
    ],
    [
      'base64 content',
      'fs.write',
      { path: 'b.bin', content: Buffer.alloc(10).toString('base64'), encoding: 'base64' },
      BLOCK,
      () => expect(existsSync(join(ws, 'b.bin'))).toBe(false),
    ],
    [
      'an empty file in new directories (no directory is created)',
      'fs.write',
      { path: 'deep/a/b/c.txt', content: '' },
      4 * BLOCK,
      () => expect(existsSync(join(ws, 'deep'))).toBe(false),
    ],
    [
      'a replacement one block larger (the delta)',
      'fs.write',
      { path: 'f0', content: bytes(BLOCK + 1) },
      BLOCK,
      () => expect(readFileSync(join(ws, 'f0'), 'utf8')).toBe(bytes(BLOCK)),
    ],
    ['a move into a new directory', 'fs.move', { path: 'f1', destination: 'newdir/f1' }, BLOCK, () => expect(existsSync(join(ws, 'f1'))).toBe(true)],
    [
      'a file moved in from a writable mount',
      'fs.move',
      { path: 'mount:scratch/one.txt', destination: 'one.txt' },
      BLOCK,
      () => expect(existsSync(join(mountDir, 'one.txt'))).toBe(true),
    ],
    [
      'a tree moved in from a writable mount',
      'fs.move',
      { path: 'mount:scratch/tree', destination: 'tree' },
      5 * BLOCK,
      () => expect(existsSync(join(mountDir, 'tree', 'inner', 'big.bin'))).toBe(true),
    ],
  ];
  it.each(GROW)('refuses %s with 507 workspace_full', async (_why, tool, args, need, unchanged) => {
    const res = await call(run, tool, args);
    expectFull(res, need);
    expect(res.json.usedBytes).toBe(QUOTA);
    expect(res.headers['content-type']).toContain('application/problem+json');
    unchanged();
    expect(readdirSync(ws).filter((n) => n.startsWith('.moat-'))).toEqual([]);
  });
  it('still reads, lists, renames in place and rewrites within the same blocks', async () => {
    expect((await call(run, 'fs.read', { path: 'f2' })).status).toBe(200);
    expect((await call(run, 'fs.list', { path: '.' })).json.result.entries).toHaveLength(16);
    expect((await call(run, 'fs.move', { path: 'f2', destination: 'renamed' })).status).toBe(200);
    expect((await call(run, 'fs.write', { path: 'f3', content: 'smaller, same one block' })).status).toBe(200);
  });
  it("writes into a writable mount are the operator's directory, not the workspace: not counted", async () => {
    expect((await call(run, 'fs.write', { path: 'mount:scratch/out.txt', content: bytes(BLOCK) })).status).toBe(200);
  });
});

describe('accounting follows replacements and deletes', () => {
  it('counts only the difference when a write replaces a file', async () => {
    const run = await createRun(g, {}, agent);
    expect((await call(run, 'fs.write', { path: 'big', content: bytes(4 * BLOCK) })).status).toBe(200);
    for (let i = 0; i < 12; i++) expect((await call(run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'more', content: 'x' }), BLOCK);
    // Four blocks become one: three free.
    expect((await call(run, 'fs.write', { path: 'big', content: bytes(BLOCK) })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call(run, 'fs.write', { path: `g${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'more', content: 'x' }), BLOCK);
  });
  it('gives room back after deletes, a tree delete included (its directories too)', async () => {
    const run = await createRun(g, {}, agent);
    expect((await call(run, 'fs.write', { path: 'tree/sub/a', content: bytes(BLOCK) })).status).toBe(200); // 3 blocks
    for (let i = 0; i < 13; i++) expect((await call(run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'x', content: '' }));
    expect((await call(run, 'fs.delete', { path: 'f0' })).status).toBe(200);
    expect((await call(run, 'fs.write', { path: 'x', content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'y', content: '' }));
    expect((await call(run, 'fs.delete', { path: 'tree', recursive: true })).json.result.removed).toBe(3);
    for (let i = 0; i < 3; i++) expect((await call(run, 'fs.write', { path: `h${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'y', content: '' }));
  });
  it('frees nothing when a file is moved onto itself or onto another name of the same file (a hard link)', async () => {
    const run = await runWith(14);
    const ws = wsOf(run);
    expect((await call(run, 'fs.write', { path: 'big', content: bytes(2 * BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'x', content: '' }));
    for (let i = 0; i < 3; i++) {
      expect((await call(run, 'fs.move', { path: 'big', destination: 'big', overwrite: true })).status).toBe(200);
      expect((await call(run, 'fs.move', { path: './big', destination: 'big/../big', overwrite: true })).status).toBe(200);
    }
    expectFull(await call(run, 'fs.write', { path: 'x', content: '' }));
    // Two names of one file, counted once each; renaming one onto the other keeps both (POSIX).
    const other = await createRun(g, {}, agent);
    writeFileSync(join(wsOf(other), 'a'), bytes(4 * BLOCK));
    linkSync(join(wsOf(other), 'a'), join(wsOf(other), 'b'));
    for (let i = 0; i < 8; i++) expect((await call(other, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(other, 'fs.write', { path: 'x', content: '' }));
    for (let i = 0; i < 3; i++) expect((await call(other, 'fs.move', { path: 'a', destination: 'b', overwrite: true })).status).toBe(200);
    expectFull(await call(other, 'fs.write', { path: 'x', content: '' }));
    expect(readFileSync(join(ws, 'big')).length).toBe(2 * BLOCK);
  });
  it('gives room back when a file moves out to a writable mount', async () => {
    const run = await runWith(16);
    expect((await call(run, 'fs.move', { path: 'f0', destination: 'mount:scratch/moved-out' })).status).toBe(200);
    expect((await call(run, 'fs.write', { path: 'x', content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'y', content: '' }));
  });
});

describe('parallel writes', () => {
  it('never both take the last free space: 40 writes at once into 16 blocks, exactly 16 land', async () => {
    const run = await createRun(g, {}, agent);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => call(run, 'fs.write', { path: `p${i}`, content: bytes(BLOCK) })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(16);
    expect(statuses.filter((s) => s === 507)).toHaveLength(24);
    expect(readdirSync(wsOf(run))).toHaveLength(16);
  });
  it('parallel replacements of one file and new files still add up', async () => {
    const run = await runWith(12);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => call(run, 'fs.write', { path: 'same', content: bytes(2 * BLOCK) })),
      ...Array.from({ length: 10 }, (_, i) => call(run, 'fs.write', { path: `n${i}`, content: bytes(BLOCK) })),
    ]);
    expect(results.every((r) => r.status === 200 || r.status === 507)).toBe(true);
    const files = readdirSync(wsOf(run));
    const used = files.reduce((sum, f) => sum + Math.max(1, Math.ceil(readFileSync(join(wsOf(run), f)).length / BLOCK)) * BLOCK, 0);
    expect(used).toBeLessThanOrEqual(QUOTA);
  });
});

describe('links do not escape the count or the workspace', () => {
  it('a write through a link inside replaces its target, counted once; a link costs one block', async () => {
    const run = await createRun(g, {}, agent);
    const ws = wsOf(run);
    // Planted before the workspace is first counted (a command could have made them).
    writeFileSync(join(ws, 'real.txt'), bytes(BLOCK));
    symlinkSync('real.txt', join(ws, 'alias'));
    expect((await call(run, 'fs.write', { path: 'alias', content: bytes(BLOCK, 'y') })).status).toBe(200);
    expect(readFileSync(join(ws, 'real.txt'), 'utf8')).toBe(bytes(BLOCK, 'y'));
    for (let i = 0; i < 14; i++) expect((await call(run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'one-more', content: '' }), BLOCK);
  });
  it('a link to a large file outside is one block, and writing through it is refused by the path rule', async () => {
    const run = await createRun(g, {}, agent);
    const outside = join(g.dataDir, 'outside-big.bin');
    writeFileSync(outside, bytes(100 * BLOCK));
    symlinkSync(outside, join(wsOf(run), 'out-link'));
    for (let i = 0; i < 15; i++) expect((await call(run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'one-more', content: '' }));
    expect((await call(run, 'fs.write', { path: 'out-link', content: 'x' })).json.code).toBe('path_outside_workspace');
    expect(readFileSync(outside).length).toBe(100 * BLOCK);
  });
  it('a hard link to a file outside is counted at its size, and a write replaces the link, never the file outside', async () => {
    const run = await createRun(g, {}, agent);
    const outside = join(g.dataDir, 'outside-hard.txt');
    writeFileSync(outside, bytes(2 * BLOCK, 'o'));
    linkSync(outside, join(wsOf(run), 'hard'));
    expect((await call(run, 'fs.write', { path: 'hard', content: 'new' })).status).toBe(200);
    expect(readFileSync(outside, 'utf8')).toBe(bytes(2 * BLOCK, 'o'));
    // `hard` is now one block of the workspace's own.
    for (let i = 0; i < 15; i++) expect((await call(run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) })).status).toBe(200);
    expectFull(await call(run, 'fs.write', { path: 'one-more', content: '' }));
  });
});

describe('exec', () => {
  it('a command that writes past the quota runs to its end; then writes and commands are refused until files are deleted', async () => {
    const run = await runWith(10);
    const script = `require('node:fs').writeFileSync('blob.bin', Buffer.alloc(${10 * BLOCK}))`;
    const ran = await call(run, 'exec', { argv: [NODE, '-e', script] });
    expect(ran.status, ran.text).toBe(200);
    expect(ran.json.result.exitCode).toBe(0);
    expectFull(await call(run, 'fs.write', { path: 'x', content: '' }), BLOCK);
    const again = await call(run, 'exec', { argv: [NODE, '-e', ''] });
    expectFull(again);
    expect(again.json.usedBytes).toBe(20 * BLOCK);
    expect((await call(run, 'fs.delete', { path: 'blob.bin' })).status).toBe(200);
    expect((await call(run, 'exec', { argv: [NODE, '-e', ''] })).status).toBe(200);
    expect((await call(run, 'fs.write', { path: 'x', content: bytes(BLOCK) })).status).toBe(200);
  });
  it('what a command deletes gives room back at the next write', async () => {
    const run = await runWith(16);
    expectFull(await call(run, 'fs.write', { path: 'x', content: '' }));
    expect((await call(run, 'exec', { argv: [NODE, '-e', "require('node:fs').rmSync('f0')"] })).json.result.exitCode).toBe(0);
    expect((await call(run, 'fs.write', { path: 'x', content: bytes(BLOCK) })).status).toBe(200);
  });
});

describe('audit', () => {
  it('records a refusal as tool.invoked, outcome blocked, code workspace_full, with the argument shape only', async () => {
    const run = await runWith(16);
    expectFull(await call(run, 'fs.write', { path: 'secret-name.txt', content: 'secret content' }));
    const entries = await auditEntries(g);
    const entry = entries.filter((e) => e.type === 'tool.invoked' && e.code === 'workspace_full' && e.detail?.run === run).at(-1);
    expect(entry).toMatchObject({ outcome: 'blocked', detail: { tool: 'fs.write', args: { path: 'string:15', content: 'string:14' } } });
    expect(JSON.stringify(entry)).not.toContain('secret');
  });
});

describe('the quota is live and survives a restart', () => {
  it('follows PATCH /api/v1/config up and down, for workspaces already counted', async () => {
    const run = await runWith(16);
    expectFull(await call(run, 'fs.write', { path: 'x', content: '' }));
    const up = await g.fetch('/api/v1/config', { method: 'PATCH', body: { tools: { maxWorkspaceBytes: 2 * QUOTA } } });
    expect(up.status, up.text).toBe(200);
    try {
      expect((await call(run, 'fs.write', { path: 'x', content: bytes(BLOCK) })).status).toBe(200);
    } finally {
      const down = await g.fetch('/api/v1/config', { method: 'PATCH', body: { tools: { maxWorkspaceBytes: QUOTA } } });
      expect(down.status, down.text).toBe(200);
    }
    expectFull(await call(run, 'fs.write', { path: 'y', content: '' }));
    // Over the lowered quota: shrinking still works.
    expect((await call(run, 'fs.delete', { path: 'x' })).status).toBe(200);
  });
  it('refuses a quota below 64 KiB at boot with config_invalid', async () => {
    await expect(startGateway({ tools: { maxWorkspaceBytes: 1024 } })).rejects.toMatchObject({ code: 'config_invalid' });
  });
  it('counts what is already there after a restart (the first use walks the workspace)', async () => {
    const dataDir = tmpDir();
    const first = await startGateway({ ...config(), dataDir });
    let run: string;
    let token: string;
    try {
      token = await tokenWith(first, 'agent', ['tools']);
      run = await createRun(first, {}, token);
      for (let i = 0; i < 16; i++) expect((await invoke(first, run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) }, token)).status).toBe(200);
    } finally {
      await first.stop();
    }
    const second = await startGateway({ ...config(), dataDir });
    try {
      expectFull(await invoke(second, run, 'fs.write', { path: 'x', content: '' }, token));
    } finally {
      await second.stop();
    }
  });
});

describe('a token creating many runs', () => {
  const PER_TOKEN = 2 * QUOTA;
  const perToken = () => ({ ...config(), tools: { ...config().tools, maxBytesPerToken: PER_TOKEN } });
  const fill = async (gw: TestGateway, token: string, run: string, blocks: number) => {
    for (let i = 0; i < blocks; i++) expect((await invoke(gw, run, 'fs.write', { path: `f${i}`, content: bytes(BLOCK) }, token)).status).toBe(200);
  };
  it('shares tools.maxBytesPerToken across its runs; another token is not held to it; deleting a run gives room back', async () => {
    const gw = await startGateway({ ...perToken(), dataDir: tmpDir() });
    try {
      const token = await tokenWith(gw, 'many-runs', ['tools']);
      const other = await tokenWith(gw, 'someone-else', ['tools']);
      const [r1, r2, r3] = [await createRun(gw, {}, token), await createRun(gw, {}, token), await createRun(gw, {}, token)];
      await fill(gw, token, r1, 16);
      await fill(gw, token, r2, 16);
      const refused = await invoke(gw, r3, 'fs.write', { path: 'x', content: '' }, token);
      expect(refused.status).toBe(507);
      expect(refused.json).toMatchObject({
        code: 'workspace_full',
        quota: 'tools.maxBytesPerToken',
        limitBytes: PER_TOKEN,
        usedBytes: PER_TOKEN,
        neededBytes: BLOCK,
      });
      expect(existsSync(join(gw.dataDir, 'workspaces', r3, 'x'))).toBe(false);
      const theirs = await createRun(gw, {}, other);
      expect((await invoke(gw, theirs, 'fs.write', { path: 'x', content: bytes(BLOCK) }, other)).status).toBe(200);
      expect((await gw.fetch(`/api/v1/runs/${r1}`, { method: 'DELETE', auth: token })).status).toBe(200);
      await fill(gw, token, r3, 16);
      expect((await invoke(gw, r3, 'fs.write', { path: 'x', content: '' }, token)).json.code).toBe('workspace_full');
    } finally {
      await gw.stop();
    }
  });
  it('counts every run of the token after a restart, at its first change', async () => {
    const dataDir = tmpDir();
    const first = await startGateway({ ...perToken(), dataDir });
    let token: string;
    try {
      token = await tokenWith(first, 'many-runs', ['tools']);
      for (let i = 0; i < 2; i++) await fill(first, token, await createRun(first, {}, token), 16);
    } finally {
      await first.stop();
    }
    const second = await startGateway({ ...perToken(), dataDir });
    try {
      const fresh = await createRun(second, {}, token);
      const res = await invoke(second, fresh, 'fs.write', { path: 'x', content: '' }, token);
      expect(res.json).toMatchObject({ code: 'workspace_full', quota: 'tools.maxBytesPerToken' });
    } finally {
      await second.stop();
    }
  });
});
