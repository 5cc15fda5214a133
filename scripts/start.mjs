/**
 * `npm start`: runs `moat <args>` from dist/, rebuilding first only when a source is newer than
 * dist/main.js (npm install builds it once; a rebuild on every start is slow and noisy). The build
 * runs the same steps as `npm run build`, without npm's script chatter.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');
const INPUTS = ['src', 'scripts/vendor-typebox.mjs', 'scripts/compile-validators.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

if (mtime(MAIN) < Math.max(...INPUTS.map((p) => newest(join(ROOT, p))))) {
  process.stderr.write('moat: building dist/ (sources changed since the last build)\n');
  for (const args of [
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    [join(ROOT, 'scripts', 'vendor-typebox.mjs')],
    [join(ROOT, 'scripts', 'compile-validators.mjs')],
  ]) {
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

process.argv = [process.argv[0], MAIN, ...process.argv.slice(2)];
await import(pathToFileURL(MAIN).href);
