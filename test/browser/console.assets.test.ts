/**
 * What `scripts/build-console.mjs` writes to dist/console: index.html referencing only hashed
 * assets that exist (no inline script, style or handler), and a .br and a .gz beside each file that
 * decompress to the same bytes. Built fresh into a temp dir (`--out`): the other browser tests'
 * gateways read dist/console meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-console.mjs', import.meta.url));
const CONSOLE_DIR = join(mkdtempSync(join(tmpdir(), 'moat-console-build-')), 'console');
let html: string;
let assets: string[];

beforeAll(() => {
  const r = spawnSync(process.execPath, [SCRIPT, '--out', CONSOLE_DIR], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
  assets = readdirSync(join(CONSOLE_DIR, 'assets'));
}, 60_000);

afterAll(() => rmSync(join(CONSOLE_DIR, '..'), { recursive: true, force: true }));

describe('console build output', () => {
  it('writes an index.html that references only hashed files under /console/assets/, all present', () => {
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBe(3);
    for (const ref of refs) {
      expect(ref).toMatch(/^\/console\/assets\/[a-z]+-[A-Za-z0-9]{8,}\.(js|css|svg)$/);
      expect(assets).toContain(ref.slice('/console/assets/'.length));
    }
    expect(html).toMatch(/<script type="module" src="\/console\/assets\/main-[A-Za-z0-9]+\.js"><\/script>/);
  });

  it('puts no inline script, style or event handler in index.html (the CSP would refuse them)', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:/i);
    expect(html).not.toContain('{{');
  });

  it('writes a .br and a .gz beside each file that decompress to its exact bytes', () => {
    const files = [...assets.filter((f) => !/\.(br|gz)$/.test(f)).map((f) => join(CONSOLE_DIR, 'assets', f)), join(CONSOLE_DIR, 'index.html')];
    expect(files.length).toBe(4);
    for (const f of files) {
      const raw = readFileSync(f);
      expect(brotliDecompressSync(readFileSync(`${f}.br`)).equals(raw), f).toBe(true);
      expect(gunzipSync(readFileSync(`${f}.gz`)).equals(raw), f).toBe(true);
    }
  });

  it('keeps the bundle free of eval and of code built from strings', () => {
    const js = readFileSync(join(CONSOLE_DIR, 'assets', assets.find((f) => /^main-.*\.js$/.test(f))!), 'utf8');
    expect(js).not.toMatch(/\beval\(|new Function\(|setTimeout\(\s*["'`]/);
  });
});
