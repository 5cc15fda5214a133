/** File tools through the real HTTP API: reads in ranges, caps that say no, atomic writes, moves, deletes, errors. */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/gateway.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';

let g: TestGateway;
let run: string;
let ws: string;

beforeAll(async () => {
  g = await toolGateway({ tools: { allow: ['fs.delete'], maxReadBytes: 4096, maxWriteBytes: 8192 } });
  run = await createRun(g);
  ws = join(g.dataDir, 'workspaces', run);
});
afterAll(async () => {
  await g.stop();
});

describe('fs.read', () => {
  it('reads text as utf8 and binary as base64, with the file size', async () => {
    writeFileSync(join(ws, 'text.txt'), 'héllo\n');
    writeFileSync(join(ws, 'bin.dat'), Buffer.from([0, 255, 1, 254]));
    expect((await invoke(g, run, 'fs.read', { path: 'text.txt' })).json.result).toMatchObject({ content: 'héllo\n', encoding: 'utf8', size: 7 });
    expect((await invoke(g, run, 'fs.read', { path: 'bin.dat' })).json.result).toMatchObject({ content: 'AP8B/g==', encoding: 'base64', size: 4 });
  });
  it('reads a byte range, and an offset past the end reads nothing', async () => {
    writeFileSync(join(ws, 'range.txt'), '0123456789');
    expect((await invoke(g, run, 'fs.read', { path: 'range.txt', offset: 3, length: 4 })).json.result).toMatchObject({
      content: '3456',
      size: 10,
      offset: 3,
      length: 4,
    });
    expect((await invoke(g, run, 'fs.read', { path: 'range.txt', offset: 8 })).json.result).toMatchObject({ content: '89', length: 2 });
    expect((await invoke(g, run, 'fs.read', { path: 'range.txt', offset: 50 })).json.result).toMatchObject({ content: '', length: 0 });
  });
  it('refuses a whole-file read over tools.maxReadBytes with 413 file_too_large (never clamps), and ranges work', async () => {
    writeFileSync(join(ws, 'big.txt'), 'x'.repeat(10_000));
    const whole = await invoke(g, run, 'fs.read', { path: 'big.txt' });
    expect(whole.status).toBe(413);
    expect(whole.json).toMatchObject({ code: 'file_too_large', size: 10_000, maxReadBytes: 4096 });
    expect((await invoke(g, run, 'fs.read', { path: 'big.txt', length: 5000 })).json.code).toBe('file_too_large');
    expect((await invoke(g, run, 'fs.read', { path: 'big.txt', offset: 8000 })).json.result.length).toBe(2000);
  });
  it('answers 404 not_found for a missing file and 422 is_a_directory for a directory', async () => {
    expect((await invoke(g, run, 'fs.read', { path: 'missing.txt' })).json.code).toBe('not_found');
    await invoke(g, run, 'fs.write', { path: 'adir/x', content: '' });
    expect((await invoke(g, run, 'fs.read', { path: 'adir' })).json).toMatchObject({ status: 422, code: 'tool_failed', reason: 'is_a_directory' });
  });
  it('refuses arguments outside the schema with 400 validation_failed', async () => {
    expect((await invoke(g, run, 'fs.read', { path: 'a', offset: -1 })).json.code).toBe('validation_failed');
    expect((await invoke(g, run, 'fs.read', { path: 'a', extra: 1 })).json.code).toBe('validation_failed');
    expect((await invoke(g, run, 'fs.read', {})).json.code).toBe('validation_failed');
  });
});

describe('fs.write', () => {
  it('writes atomically: no temp file left, new files 0600, parents created 0700', async () => {
    const res = await invoke(g, run, 'fs.write', { path: 'out/deep/report.md', content: '# report' });
    expect(res.json.result).toEqual({ path: 'out/deep/report.md', size: 8, created: true });
    expect(readdirSync(join(ws, 'out', 'deep'))).toEqual(['report.md']);
    expect(statSync(join(ws, 'out', 'deep', 'report.md')).mode & 0o777).toBe(0o600);
    expect(statSync(join(ws, 'out')).mode & 0o777).toBe(0o700);
  });
  it('replaces a file and keeps its mode', async () => {
    writeFileSync(join(ws, 'keep-mode.sh'), 'old', { mode: 0o755 });
    const res = await invoke(g, run, 'fs.write', { path: 'keep-mode.sh', content: 'new' });
    expect(res.json.result.created).toBe(false);
    expect(statSync(join(ws, 'keep-mode.sh')).mode & 0o777).toBe(0o755);
    expect((await invoke(g, run, 'fs.read', { path: 'keep-mode.sh' })).json.result.content).toBe('new');
  });
  it('writes base64 content byte for byte and refuses malformed base64', async () => {
    await invoke(g, run, 'fs.write', { path: 'b.bin', content: 'AP8B/g==', encoding: 'base64' });
    expect((await invoke(g, run, 'fs.read', { path: 'b.bin' })).json.result).toMatchObject({ content: 'AP8B/g==', encoding: 'base64' });
    expect((await invoke(g, run, 'fs.write', { path: 'b.bin', content: 'not base64!', encoding: 'base64' })).json.code).toBe('validation_failed');
  });
  it('refuses content over tools.maxWriteBytes with 413 file_too_large and writes nothing', async () => {
    const res = await invoke(g, run, 'fs.write', { path: 'huge.txt', content: 'x'.repeat(8193) });
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('file_too_large');
    expect(readdirSync(ws)).not.toContain('huge.txt');
  });
  it('refuses writing over a directory or the root itself', async () => {
    expect((await invoke(g, run, 'fs.write', { path: 'out', content: 'x' })).json).toMatchObject({ code: 'tool_failed', reason: 'is_a_directory' });
    expect((await invoke(g, run, 'fs.write', { path: '.', content: 'x' })).json.code).toBe('path_invalid');
  });
});

describe('fs.move and fs.delete', () => {
  it('moves a file, refusing to replace an existing one unless asked', async () => {
    await invoke(g, run, 'fs.write', { path: 'm/a.txt', content: 'a' });
    await invoke(g, run, 'fs.write', { path: 'm/b.txt', content: 'b' });
    expect((await invoke(g, run, 'fs.move', { path: 'm/a.txt', destination: 'm/b.txt' })).json).toMatchObject({ code: 'tool_failed', reason: 'exists' });
    expect((await invoke(g, run, 'fs.move', { path: 'm/a.txt', destination: 'm/b.txt', overwrite: true })).status).toBe(200);
    expect(readdirSync(join(ws, 'm'))).toEqual(['b.txt']);
    expect((await invoke(g, run, 'fs.move', { path: 'm', destination: 'moved/m2' })).json.result).toEqual({ path: 'm', destination: 'moved/m2' });
    expect((await invoke(g, run, 'fs.read', { path: 'moved/m2/b.txt' })).json.result.content).toBe('a');
  });
  it('refuses moving a directory into itself, a missing source, and the root', async () => {
    await invoke(g, run, 'fs.write', { path: 'self/x.txt', content: 'x' });
    expect((await invoke(g, run, 'fs.move', { path: 'self', destination: 'self/inner' })).json).toMatchObject({ code: 'tool_failed', reason: 'into_itself' });
    expect((await invoke(g, run, 'fs.move', { path: 'nope', destination: 'x' })).json.code).toBe('not_found');
    expect((await invoke(g, run, 'fs.move', { path: '.', destination: 'x' })).json.code).toBe('path_invalid');
  });
  it('deletes files, empty directories, and trees only when recursive', async () => {
    await invoke(g, run, 'fs.write', { path: 'del/a/b/c.txt', content: 'c' });
    await invoke(g, run, 'fs.write', { path: 'del/f.txt', content: 'f' });
    expect((await invoke(g, run, 'fs.delete', { path: 'del/f.txt' })).json.result).toEqual({ path: 'del/f.txt', removed: 1 });
    expect((await invoke(g, run, 'fs.delete', { path: 'del' })).json).toMatchObject({ code: 'tool_failed', reason: 'not_empty' });
    expect((await invoke(g, run, 'fs.delete', { path: 'del', recursive: true })).json.result).toEqual({ path: 'del', removed: 4 });
    expect((await invoke(g, run, 'fs.delete', { path: 'del' })).json.code).toBe('not_found');
    expect((await invoke(g, run, 'fs.delete', { path: '.', recursive: true })).json.code).toBe('path_invalid');
  });
});

describe('fs.list', () => {
  it('lists entries sorted by name with type and size', async () => {
    const r = await createRun(g);
    await invoke(g, r, 'fs.write', { path: 'b.txt', content: '12345' });
    await invoke(g, r, 'fs.write', { path: 'a/inner.txt', content: '' });
    const res = await invoke(g, r, 'fs.list', { path: '.' });
    expect(res.json.result).toEqual({
      path: '.',
      entries: [
        { name: 'a', type: 'directory', size: null },
        { name: 'b.txt', type: 'file', size: 5 },
      ],
      truncated: false,
    });
    expect((await invoke(g, r, 'fs.list', { path: 'b.txt' })).json).toMatchObject({ code: 'tool_failed', reason: 'not_a_directory' });
    expect((await invoke(g, r, 'fs.list', { path: 'zzz' })).json.code).toBe('not_found');
  });
});

describe('unknown tools and runs', () => {
  it('answers 404 tool_unknown and 404 run_not_found', async () => {
    expect((await invoke(g, run, 'fs.readfile', { path: 'a' })).json).toMatchObject({ status: 404, code: 'tool_unknown' });
    expect((await invoke(g, 'run_AAAAAAAAAAAA', 'fs.read', { path: 'a' })).json).toMatchObject({ status: 404, code: 'run_not_found' });
  });
});
