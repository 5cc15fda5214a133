/**
 * The console's built files (`dist/console/`, written by `npm run build`), read once at boot into
 * memory with their `.br`/`.gz` siblings. Requests never touch the file system: a URL is looked up
 * in this map by its exact name, so no client string is ever joined onto a path.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleAsset, ConsoleAssets } from '../routes/deps.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** A name the console's URLs may carry: one path segment of plain characters (no dot files). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Files larger than this are not served from memory (a build gone wrong must not fill the heap). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Where the build puts the console: `dist/console/` beside `dist/gateway/` when running the built
 * code, and the same folder of the package when running the sources (tests, tsx).
 */
export function defaultConsoleDir(): string {
  const built = fileURLToPath(new URL('../console/', import.meta.url));
  if (existsSync(join(built, 'index.html'))) return built;
  return fileURLToPath(new URL('../../dist/console/', import.meta.url));
}

function load(path: string, name: string): ConsoleAsset | null {
  const type = TYPES[extname(name).toLowerCase()];
  if (type === undefined || !NAME.test(name)) return null;
  const stat = statSync(path);
  if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return null;
  const sibling = (suffix: string) => {
    const p = `${path}${suffix}`;
    return existsSync(p) && statSync(p).isFile() && statSync(p).size <= MAX_FILE_BYTES ? readFileSync(p) : null;
  };
  return { type, body: readFileSync(path), br: sibling('.br'), gzip: sibling('.gz') };
}

/** No files (the console is off). */
export function noConsoleAssets(): ConsoleAssets {
  return { index: null, files: new Map(), assets: new Map(), dir: '' };
}

/** Reads `dir` (top-level files and `assets/`); an unbuilt console is empty, not an error. */
export function loadConsoleAssets(dir: string): ConsoleAssets {
  const files = new Map<string, ConsoleAsset>();
  const assets = new Map<string, ConsoleAsset>();
  const list = (d: string) => (existsSync(d) && statSync(d).isDirectory() ? readdirSync(d) : []);
  for (const name of list(dir)) {
    if (name.endsWith('.br') || name.endsWith('.gz')) continue;
    const asset = load(join(dir, name), name);
    if (asset) files.set(name, asset);
  }
  for (const name of list(join(dir, 'assets'))) {
    if (name.endsWith('.br') || name.endsWith('.gz')) continue;
    const asset = load(join(dir, 'assets', name), name);
    if (asset) assets.set(name, asset);
  }
  const index = files.get('index.html') ?? null;
  files.delete('index.html');
  return { index, files, assets, dir };
}
