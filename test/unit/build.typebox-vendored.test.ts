/**
 * dist/ loads TypeBox as one bundled module (scripts/vendor-typebox.mjs): the package is ~250 ES
 * modules, which measured ~5 MB of idle RSS more. A dist/ module importing the package again would
 * quietly undo that; the bundled copy must build the very schemas the package builds.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const VENDOR = join(DIST, 'vendor', 'typebox.js');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(DIST, 'vendor') || path === join(DIST, 'console') ? [] : jsFiles(path);
    return e.name.endsWith('.js') ? [path] : [];
  });
}

describe('TypeBox in dist/', () => {
  it('is one bundled module after npm run build', () => {
    expect(existsSync(VENDOR)).toBe(true);
  });

  it('is never imported from the package by a dist module', () => {
    const offenders = jsFiles(DIST).filter((f) => /from '@sinclair\/typebox[^']*'/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('builds the same config schema as the package', async () => {
    const built = (await import(join(DIST, 'config', 'schema.js'))) as { ConfigSchema: unknown };
    expect(JSON.stringify(built.ConfigSchema)).toBe(JSON.stringify(ConfigSchema));
  });

  it('checks values and compiles checkers like the package', async () => {
    const { Type, Value, TypeCompiler } = (await import(VENDOR)) as typeof import('@sinclair/typebox') &
      typeof import('@sinclair/typebox/value') &
      typeof import('@sinclair/typebox/compiler');
    const schema = Type.Object({ name: Type.String({ minLength: 1 }), n: Type.Optional(Type.Integer({ default: 3 })) });
    expect(Value.Check(schema, { name: 'a' })).toBe(true);
    expect(Value.Check(schema, { name: '' })).toBe(false);
    expect(Value.Default(schema, { name: 'a' })).toEqual({ name: 'a', n: 3 });
    expect(TypeCompiler.Compile(schema).Check({ name: 7 })).toBe(false);
  });
});
