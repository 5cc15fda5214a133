/** The path rule as a function: the lexical tables, and resolution against real directories with symbolic links. */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseClientPath, resolveClientPath, type Roots } from '../../src/domain/workspaces/scope.js';
import { tmpDir } from '../helpers/gateway.js';
import { HOSTILE_PATHS, LEGIT_PATHS } from '../helpers/paths.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('parseClientPath refuses hostile spellings with path_invalid', () => {
  it('has a table of at least 50 hostile spellings', () => {
    expect(HOSTILE_PATHS.length).toBeGreaterThanOrEqual(50);
  });
  it.each(HOSTILE_PATHS.map((h) => [h.why, h.path] as const))('refuses %s', (_why, path) => {
    expect(codeOf(() => parseClientPath(path))).toBe('path_invalid');
  });
  it.each([[null], [42], [['a']], [{ path: 'a' }]])('refuses a non-string %j', (value) => {
    expect(codeOf(() => parseClientPath(value))).toBe('path_invalid');
  });
});

describe('parseClientPath accepts legitimate paths', () => {
  it.each(LEGIT_PATHS.map((l) => [l.path, l.normalised] as const))('accepts %j as %j', (path, normalised) => {
    const parsed = parseClientPath(path);
    expect(parsed.mount).toBeNull();
    expect(parsed.segments.join('/')).toBe(normalised);
  });
  it('reads "." and "dir/" as the root and a directory', () => {
    expect(parseClientPath('.').segments).toEqual([]);
    expect(parseClientPath('dir/').segments).toEqual(['dir']);
  });
  it.each([
    ['a.txt/', ['a.txt'], true],
    ['a.txt//', ['a.txt'], true],
    ['a.txt/.', ['a.txt'], true],
    ['d/a.txt/..', ['d'], true],
    ['mount:docs/a/', ['a'], true],
    ['a.txt', ['a.txt'], false],
    ['./a.txt', ['a.txt'], false],
    ['a//b.txt', ['a', 'b.txt'], false],
  ] as const)('reads %j as segments %j naming a directory: %s (a trailing slash means a directory)', (path, segments, directory) => {
    expect(parseClientPath(path)).toMatchObject({ segments, directory });
  });
  it('reads mount:<name>/rest as a mount and a path below it', () => {
    expect(parseClientPath('mount:docs/a/b.md')).toEqual({ mount: 'docs', segments: ['a', 'b.md'], directory: false });
    expect(parseClientPath('mount:docs')).toEqual({ mount: 'docs', segments: [], directory: false });
    expect(parseClientPath('mount:docs/a/../b')).toEqual({ mount: 'docs', segments: ['b'], directory: false });
  });
});

describe('resolveClientPath against real directories', () => {
  const base = realpathSync(tmpDir('moat-scope-'));
  const ws = join(base, 'ws');
  const docs = join(base, 'docs');
  const secret = join(base, 'secret');
  mkdirSync(join(ws, 'sub'), { recursive: true });
  mkdirSync(docs);
  mkdirSync(secret);
  writeFileSync(join(secret, 'key'), 'top secret');
  writeFileSync(join(ws, 'sub', 'file.txt'), 'x');
  symlinkSync(secret, join(ws, 'out-dir'));
  symlinkSync(join(secret, 'key'), join(ws, 'out-file'));
  symlinkSync('sub/file.txt', join(ws, 'in-file'));
  symlinkSync(join(base, 'nowhere'), join(ws, 'dangling'));
  symlinkSync('loop-b', join(ws, 'loop-a'));
  symlinkSync('loop-a', join(ws, 'loop-b'));
  const roots: Roots = {
    workspace: { label: 'the workspace', hostPath: ws, readOnly: false },
    mounts: new Map([['docs', { label: 'mount:docs', hostPath: docs, readOnly: true, mount: 'docs' }]]),
  };

  it('resolves a new file below an existing directory', () => {
    const r = resolveClientPath(roots, 'sub/new/deeper.txt', 'write');
    expect(r.realSegments).toEqual(['sub', 'new', 'deeper.txt']);
    expect(r.hostPath).toBe(join(ws, 'sub', 'new', 'deeper.txt'));
    expect(r.relative).toBe('sub/new/deeper.txt');
  });
  it('follows a link that stays inside to its real place', () => {
    expect(resolveClientPath(roots, 'in-file', 'read').realSegments).toEqual(['sub', 'file.txt']);
  });
  it('keeps the link itself when the leaf is not followed (move, delete)', () => {
    expect(resolveClientPath(roots, 'out-file', 'write', { followLeaf: false }).realSegments).toEqual(['out-file']);
  });
  it.each(['out-dir', 'out-dir/key', 'out-dir/new.txt', 'out-file', 'out-dir/a/b/c'])(
    'refuses %s (a link pointing outside) with path_outside_workspace',
    (p) => {
      expect(codeOf(() => resolveClientPath(roots, p, 'read'))).toBe('path_outside_workspace');
      expect(codeOf(() => resolveClientPath(roots, p, 'write'))).toBe('path_outside_workspace');
    },
  );
  it('refuses a dangling link and a link loop', () => {
    expect(codeOf(() => resolveClientPath(roots, 'dangling', 'write'))).toBe('path_outside_workspace');
    expect(codeOf(() => resolveClientPath(roots, 'loop-a/x', 'read'))).toBe('path_outside_workspace');
  });
  it('refuses writes into a read-only mount with path_read_only, and reads there are fine', () => {
    expect(codeOf(() => resolveClientPath(roots, 'mount:docs/a.txt', 'write'))).toBe('path_read_only');
    expect(resolveClientPath(roots, 'mount:docs/a.txt', 'read').hostPath).toBe(join(docs, 'a.txt'));
  });
  it('refuses a mount the run does not include with path_outside_workspace', () => {
    expect(codeOf(() => resolveClientPath(roots, 'mount:other/a.txt', 'read'))).toBe('path_outside_workspace');
  });
});
