/**
 * Builds the console (console/src -> dist/console): esbuild bundles main.ts and its CSS into hashed
 * files, index.html is written to reference only those, and a .br and a .gz are written beside each.
 * Build-time only: nothing here runs in the gateway, which serves dist/console from memory.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'console');
// `--out <dir>` builds elsewhere (tests), so that a gateway reading dist/console meanwhile never sees it half-written.
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 && process.argv[outFlag + 1] ? resolve(process.argv[outFlag + 1]) : join(root, 'dist', 'console');
const assets = join(out, 'assets');
/** Where the gateway serves the assets; absolute, because index.html answers every client route. */
const BASE = '/console/assets/';

// Stale hashed files from an earlier build would be loaded into the gateway's memory too.
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [join(src, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  splitting: false,
  minify: true,
  sourcemap: false,
  // Browsers that enforce Trusted Types and module scripts: the console needs nothing older.
  target: ['chrome100', 'firefox115', 'safari16'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => /^main-[A-Z0-9]+\.js$/i.test(f));
const css = outputs.find((f) => /^main-[A-Z0-9]+\.css$/i.test(f));
if (!js || !css) throw new Error(`build-console: expected main-<hash>.js and .css, got ${outputs.join(', ')}`);

// The icon is hashed by its content like the bundle, so it can be cached as immutable too.
const iconSource = readFileSync(join(src, 'icon.svg'));
const icon = `icon-${createHash('sha256').update(iconSource).digest('hex').slice(0, 10)}.svg`;
writeFileSync(join(assets, icon), iconSource);

const template = readFileSync(join(src, 'index.html'), 'utf8');
const html = template
  .replace('{{css}}', BASE + css)
  .replace('{{js}}', BASE + js)
  .replace('{{icon}}', BASE + icon);
if (/\{\{|<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i.test(html)) {
  throw new Error('build-console: index.html must hold no inline script, style or handler and no placeholder');
}
writeFileSync(join(out, 'index.html'), html);

/** A .br and a .gz beside each file, the best each format can do (built once, served many times). */
function compress(file) {
  const body = readFileSync(file);
  writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
  writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
}
for (const f of readdirSync(assets)) compress(join(assets, f));
compress(join(out, 'index.html'));

const sizes = readdirSync(assets)
  .filter((f) => f.endsWith('.br'))
  .map((f) => `${f.slice(0, -3)} ${readFileSync(join(assets, f)).length} B br`);
process.stdout.write(`build-console: ${out === join(root, 'dist', 'console') ? 'dist/console' : out} (${sizes.join(', ')})\n`);
