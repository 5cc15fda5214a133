// Build step: TypeBox as one module. Route, API and config schemas are built with TypeBox when
// their modules load, so `moat serve` needs it at boot; from its package that is ~250 ES modules
// (each one resolved, read, compiled and linked), which measured ~5 MB of idle RSS and ~1.2 MB of
// heap more than the same code as one file (npm run bench -- idle). esbuild bundles the three entry
// points dist/ uses into dist/vendor/typebox.js, and dist/'s imports of them are pointed there.
// src/ and the tests keep importing the package itself; the schemas it builds are the same objects
// (TypeBox's kinds are Symbol.for() symbols, shared by every copy).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const target = join(dist, 'vendor', 'typebox.js');
const ENTRY = [
  "export * from '@sinclair/typebox';",
  "export { Value } from '@sinclair/typebox/value';",
  "export { TypeCompiler, TypeCheck } from '@sinclair/typebox/compiler';",
].join('\n');

await build({
  stdin: { contents: ENTRY, resolveDir: dirname(dist), loader: 'js', sourcefile: 'typebox-entry.js' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: target,
  logLevel: 'warning',
});

const IMPORT = /from '@sinclair\/typebox(?:\/value|\/compiler)?'/g;
let rewritten = 0;
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (path !== join(dist, 'vendor') && path !== join(dist, 'console')) walk(path);
    } else if (e.name.endsWith('.js')) {
      const text = readFileSync(path, 'utf8');
      if (!text.includes("from '@sinclair/typebox")) continue;
      let rel = relative(dirname(path), target);
      if (!rel.startsWith('.')) rel = `./${rel}`;
      writeFileSync(path, text.replace(IMPORT, `from '${rel}'`));
      rewritten++;
    }
  }
}
walk(dist);
console.log(`vendor-typebox: dist/vendor/typebox.js (${readFileSync(target).length} B), ${rewritten} modules pointed at it`);
