/**
 * The path rule from outside: every hostile spelling is refused by every file tool through the
 * real HTTP API, nothing is created outside the workspace, and legitimate paths round-trip.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
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
    expect(readdirSync(g.dataDir).sort()).toEqual(
      ['audit', 'gateway-token', 'gateway.json', 'keys', 'moat.db', 'moat.db-shm', 'moat.db-wal', 'outside.txt', 'run', 'workspaces'].sort(),
    );
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
    expect((await invoke(g, run, 'fs.read', { path: 'mount:docs//sub//doc.md' })).json.result).toMatchObject({
      path: 'mount:docs/sub/doc.md',
      content: '# doc',
    });
    expect((await invoke(g, run, 'fs.list', { path: 'same//' })).json.result).toMatchObject({ path: 'same', entries: [{ name: 'file.txt' }] });
  });
  it('lists the workspace root as "." and a mount by mount:<name>', async () => {
    expect((await invoke(g, run, 'fs.list', { path: '.' })).status).toBe(200);
    const m = await invoke(g, run, 'fs.list', { path: 'mount:docs/' });
    expect(m.json.result).toMatchObject({ path: 'mount:docs', entries: [{ name: 'sub', type: 'directory', size: null }] });
    expect((await invoke(g, run, 'fs.read', { path: 'mount:docs/sub/../sub/doc.md' })).json.result.content).toBe('# doc');
  });
});

/**
 * A trailing slash names a directory (POSIX 4.13): `fs.write {"path":"a.txt/"}` once replaced the
 * file a.txt. Every spelling of "a.txt as a directory", through every tool, is refused and leaves
 * a.txt as it was; directories spelled with a slash keep working.
 */
describe('a path ending in a slash names a directory, never a file', () => {
  const A = 'the original a.txt';
  const C = 'the original c.txt';
  let r: string;
  let ws: string;
  beforeAll(async () => {
    r = await createRun(g, { workspace: { mounts: ['docs'] } });
    ws = join(g.dataDir, 'workspaces', r);
  });
  const reset = () => {
    writeFileSync(join(ws, 'a.txt'), A);
    writeFileSync(join(ws, 'c.txt'), C);
  };
  const untouched = () => {
    expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe(A);
    expect(readFileSync(join(ws, 'c.txt'), 'utf8')).toBe(C);
    expect(readdirSync(ws).filter((n) => n.startsWith('.moat-'))).toEqual([]);
  };
  const SLASHED = ['a.txt/', 'a.txt//', 'a.txt/.', 'a.txt/./', 'a.txt/.//', './a.txt/', 'sub/../a.txt/', 'a.txt/x/..'];
  const refusals: Array<[string, (p: string) => { tool: string; args: Record<string, unknown> }, number, string]> = [
    ['fs.write', (p) => ({ tool: 'fs.write', args: { path: p, content: 'pwned' } }), 400, 'path_invalid'],
    ['fs.write (base64)', (p) => ({ tool: 'fs.write', args: { path: p, content: 'cHduZWQ=', encoding: 'base64' } }), 400, 'path_invalid'],
    ['fs.read', (p) => ({ tool: 'fs.read', args: { path: p } }), 400, 'path_invalid'],
    ['fs.read (range)', (p) => ({ tool: 'fs.read', args: { path: p, offset: 0, length: 4 } }), 400, 'path_invalid'],
    ['fs.delete', (p) => ({ tool: 'fs.delete', args: { path: p } }), 400, 'path_invalid'],
    ['fs.delete (recursive)', (p) => ({ tool: 'fs.delete', args: { path: p, recursive: true } }), 400, 'path_invalid'],
    ['fs.move (as source)', (p) => ({ tool: 'fs.move', args: { path: p, destination: 'moved.txt' } }), 400, 'path_invalid'],
    ['fs.move (as destination, overwrite)', (p) => ({ tool: 'fs.move', args: { path: 'c.txt', destination: p, overwrite: true } }), 400, 'path_invalid'],
    ['fs.list', (p) => ({ tool: 'fs.list', args: { path: p } }), 422, 'tool_failed'],
  ];
  const rows = refusals.flatMap(([name, make, status, code]) => SLASHED.map((p) => [name, p, make, status, code] as const));
  it.each(rows)('%s refuses %j and leaves a.txt as it was', async (_name, path, make, status, code) => {
    reset();
    const { tool, args } = make(path);
    const res = await invoke(g, r, tool, args);
    expect(res.status, res.text).toBe(status);
    expect(res.json.code).toBe(code);
    expect(res.text).not.toContain(A);
    untouched();
    expect(existsSync(join(ws, 'moved.txt'))).toBe(false);
  });
  it.each(['newdir/', 'newdir//', 'newdir/.', 'deeper/newdir/'])(
    'fs.write refuses %j (a directory path that does not exist yet) and creates nothing',
    async (path) => {
      const res = await invoke(g, r, 'fs.write', { path, content: 'x' });
      expect(res.json.code).toBe('path_invalid');
      expect(existsSync(join(ws, 'newdir'))).toBe(false);
      expect(existsSync(join(ws, 'deeper'))).toBe(false);
    },
  );
  it('says why: the path ends in a slash and names a directory (the root keeps its own answer)', async () => {
    reset();
    expect((await invoke(g, r, 'fs.write', { path: 'a.txt/', content: 'x' })).json.detail).toMatch(/"a\.txt\/" ends in a slash, which names a directory/);
    expect((await invoke(g, r, 'fs.delete', { path: 'a.txt/' })).json.detail).toMatch(
      /"a\.txt\/" ends in a slash, which names a directory, and "a\.txt" is not one/,
    );
    for (const path of ['.', './', 'a.txt/..']) {
      const res = await invoke(g, r, 'fs.write', { path, content: 'x' });
      expect(res.json).toMatchObject({ code: 'path_invalid', detail: expect.stringMatching(/not its root/) });
    }
    untouched();
  });
  it('fs.move refuses a file moved to a new name ending in a slash', async () => {
    reset();
    const res = await invoke(g, r, 'fs.move', { path: 'c.txt', destination: 'newname/' });
    expect(res.json.code).toBe('path_invalid');
    expect(existsSync(join(ws, 'newname'))).toBe(false);
    untouched();
  });
  it('refuses the same in a mount: mount:docs/sub/doc.md/ is not the file', async () => {
    expect((await invoke(g, r, 'fs.read', { path: 'mount:docs/sub/doc.md/' })).json.code).toBe('path_invalid');
    expect((await invoke(g, r, 'fs.write', { path: 'mount:docs/sub/doc.md/', content: 'pwned' })).json.code).toBe('path_invalid');
    expect((await invoke(g, r, 'fs.delete', { path: 'mount:docs/sub/doc.md/.' })).json.code).toBe('path_invalid');
    expect(readFileSync(join(mountDir, 'sub', 'doc.md'), 'utf8')).toBe('# doc');
  });
  it('refuses a link to a file spelled with a slash (the link is not a directory)', async () => {
    reset();
    symlinkSync('a.txt', join(ws, 'alias'));
    expect((await invoke(g, r, 'fs.write', { path: 'alias/', content: 'pwned' })).json.code).toBe('path_invalid');
    expect((await invoke(g, r, 'fs.delete', { path: 'alias/' })).json.code).toBe('path_invalid');
    expect((await invoke(g, r, 'fs.move', { path: 'alias/', destination: 'moved.txt' })).json.code).toBe('path_invalid');
    expect(lstatSync(join(ws, 'alias')).isSymbolicLink()).toBe(true);
    untouched();
  });
  it('directories spelled with a slash keep working: list, move and delete', async () => {
    expect((await invoke(g, r, 'fs.write', { path: 'd1/f.txt', content: 'f' })).status).toBe(200);
    expect((await invoke(g, r, 'fs.list', { path: 'd1/.' })).json.result).toMatchObject({ path: 'd1', entries: [{ name: 'f.txt' }] });
    expect((await invoke(g, r, 'fs.move', { path: 'd1/', destination: 'd2/' })).json.result).toEqual({ path: 'd1', destination: 'd2' });
    expect((await invoke(g, r, 'fs.read', { path: 'd2/f.txt' })).json.result.content).toBe('f');
    expect((await invoke(g, r, 'fs.delete', { path: 'd2//', recursive: true })).json.result).toEqual({ path: 'd2', removed: 2 });
    expect(existsSync(join(ws, 'd2'))).toBe(false);
  });
});
