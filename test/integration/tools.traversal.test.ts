/**
 * The path rule from outside: every hostile spelling is refused by every file tool through the
 * real HTTP API, nothing is created outside the workspace, and legitimate paths round-trip.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/gateway.js';
import { tmpDir } from '../helpers/gateway.js';
import { HOSTILE_PATHS, LEGIT_PATHS } from '../helpers/paths.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';

let g: TestGateway;
let run: string;
let mountDir: string;

beforeAll(async () => {
  mountDir = tmpDir('moat-mount-');
  mkdirSync(join(mountDir, 'sub'));
  writeFileSync(join(mountDir, 'sub', 'doc.md'), '# doc');
  g = await toolGateway({ mounts: [{ name: 'docs', path: mountDir, readOnly: false }], tools: { allow: ['fs.delete', 'mount.write'] } });
  run = await createRun(g, { workspace: { mounts: ['docs'] } });
  // Something to find if a traversal worked.
  writeFileSync(join(g.dataDir, 'outside.txt'), 'outside the workspace');
});
afterAll(async () => {
  await g.stop();
});

const hostile = HOSTILE_PATHS.map((h) => [h.why, h.path] as const);

describe('hostile paths are refused with 400 path_invalid by every file tool', () => {
  it.each(hostile)('fs.read refuses %s', async (_why, path) => {
    const res = await invoke(g, run, 'fs.read', { path });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('path_invalid');
    expect(res.text).not.toContain('outside the workspace');
  });
  it.each(hostile)('fs.write refuses %s', async (_why, path) => {
    const res = await invoke(g, run, 'fs.write', { path, content: 'pwned' });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('path_invalid');
  });
  it.each(hostile)('fs.list refuses %s', async (_why, path) => {
    const res = await invoke(g, run, 'fs.list', { path });
    expect(res.json.code).toBe('path_invalid');
  });
  it.each(hostile)('fs.delete refuses %s', async (_why, path) => {
    expect((await invoke(g, run, 'fs.delete', { path })).json.code).toBe('path_invalid');
  });
  it.each(hostile)('fs.move refuses %s as source and as destination', async (_why, path) => {
    await invoke(g, run, 'fs.write', { path: 'movable.txt', content: 'm' });
    expect((await invoke(g, run, 'fs.move', { path, destination: 'x.txt' })).json.code).toBe('path_invalid');
    expect((await invoke(g, run, 'fs.move', { path: 'movable.txt', destination: path })).json.code).toBe('path_invalid');
  });

  it('wrote nothing outside the workspace and nothing changed in the mount', () => {
    expect(readdirSync(g.dataDir).sort()).toEqual(['audit', 'gateway-token', 'gateway.json', 'keys', 'moat.db', 'moat.db-shm', 'moat.db-wal', 'outside.txt', 'run', 'workspaces'].sort());
    expect(readdirSync(mountDir)).toEqual(['sub']);
    expect(existsSync(join(g.dataDir, 'outside.txt'))).toBe(true);
    expect(readdirSync(join(g.dataDir, 'workspaces'))).toEqual([run]);
  });
});

describe('a mount the run does not include', () => {
  it('is out of reach (403 path_outside_workspace), even though the mount exists', async () => {
    const other = await createRun(g);
    const res = await invoke(g, other, 'fs.read', { path: 'mount:docs/sub/doc.md' });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('path_outside_workspace');
  });
});

describe('legitimate paths work', () => {
  it('has at least 10 legitimate spellings', () => {
    expect(LEGIT_PATHS.length).toBeGreaterThanOrEqual(10);
  });
  it.each(LEGIT_PATHS.map((l) => [l.path, l.normalised] as const))('writes and reads back %j (as %j)', async (path, normalised) => {
    const content = `content of ${normalised}`;
    const w = await invoke(g, run, 'fs.write', { path, content });
    expect(w.status).toBe(200);
    expect(w.json.result.path).toBe(normalised);
    const r = await invoke(g, run, 'fs.read', { path: normalised });
    expect(r.status).toBe(200);
    expect(r.json.result).toMatchObject({ content, encoding: 'utf8', size: Buffer.byteLength(content) });
    expect(existsSync(join(g.dataDir, 'workspaces', run, ...normalised.split('/')))).toBe(true);
  });
  it('reads a//b as the same file as a/b (POSIX), in the workspace and in a mount', async () => {
    expect((await invoke(g, run, 'fs.write', { path: 'same/file.txt', content: 'one file' })).status).toBe(200);
    for (const path of ['same//file.txt', 'same///file.txt', './/same/./file.txt']) {
      const r = await invoke(g, run, 'fs.read', { path });
      expect(r.json.result).toMatchObject({ path: 'same/file.txt', content: 'one file' });
    }
    expect((await invoke(g, run, 'fs.read', { path: 'mount:docs//sub//doc.md' })).json.result).toMatchObject({ path: 'mount:docs/sub/doc.md', content: '# doc' });
    expect((await invoke(g, run, 'fs.list', { path: 'same//' })).json.result).toMatchObject({ path: 'same', entries: [{ name: 'file.txt' }] });
  });
  it('lists the workspace root as "." and a mount by mount:<name>', async () => {
    expect((await invoke(g, run, 'fs.list', { path: '.' })).status).toBe(200);
    const m = await invoke(g, run, 'fs.list', { path: 'mount:docs/' });
    expect(m.json.result).toMatchObject({ path: 'mount:docs', entries: [{ name: 'sub', type: 'directory', size: null }] });
    expect((await invoke(g, run, 'fs.read', { path: 'mount:docs/sub/../sub/doc.md' })).json.result.content).toBe('# doc');
  });
});
