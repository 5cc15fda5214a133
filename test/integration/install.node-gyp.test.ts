/**
 * The install on a host that reaches only the npm registry: better-sqlite3 finds no prebuilt binary
 * and runs `node-gyp rebuild`, which finds node_modules/.bin/node-gyp first: the bin of the local
 * dependency moat-node-gyp (scripts/node-gyp/node-gyp.cjs). It takes Node's headers
 * from the installation (no download), and says in one line what is missing otherwise. Proven on a
 * tiny addon's `configure` (seconds), with downloads pointed at a closed loopback port.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRAPPER = join(ROOT, 'scripts', 'node-gyp', 'node-gyp.cjs');
const run = promisify(execFile);

/** npm's own node-gyp, as npm would run it without the project's .npmrc. */
async function npmNodeGyp(): Promise<string | null> {
  const { stdout } = await run('npm', ['root', '-g'], { cwd: tmpDir() });
  const p = join(stdout.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return existsSync(p) ? p : null;
}

const headersInstalled = existsSync(join(process.execPath, '..', '..', 'include', 'node', 'common.gypi')) || existsSync('/usr/include/node/common.gypi');

/** A directory with a one-file N-API addon. */
function addon(): string {
  const dir = join(tmpDir('moat-addon-'), 'probe');
  mkdirSync(dir);
  writeFileSync(join(dir, 'binding.gyp'), JSON.stringify({ targets: [{ target_name: 'probe', sources: ['probe.cc'] }] }));
  writeFileSync(join(dir, 'probe.cc'), '#include <node_api.h>\nNAPI_MODULE_INIT() { return exports; }\n');
  return dir;
}

/** An environment as on an offline host: no nodedir, an empty header cache, downloads refused. */
async function offlineEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_config_(nodedir|tarball|node_gyp|devdir|dist_url)$/i.test(k)) delete env[k];
  return { ...env, npm_config_devdir: tmpDir('moat-gyp-cache-'), npm_config_dist_url: `http://127.0.0.1:${await freePort()}`, ...extra };
}

async function attempt(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [file, ...args], { cwd, env, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the node-gyp of the install', () => {
  it('is linked as node_modules/.bin/node-gyp, first on the PATH of every install script (npm install and npm ci alike)', async () => {
    // A copy (install-links): npm links the bins of a linked file: dependency too late, after the
    // install scripts of the others (seen: better-sqlite3 then ran npm's node-gyp and downloaded).
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).toMatch(/^install-links=true$/m);
    expect(readFileSync(realpathSync(join(ROOT, 'node_modules', '.bin', 'node-gyp')), 'utf8')).toBe(readFileSync(WRAPPER, 'utf8'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    // A dependency, not a devDependency: production installs compile better-sqlite3 too.
    expect(pkg.dependencies['moat-node-gyp']).toBe('file:scripts/node-gyp');
    expect(statSync(WRAPPER).mode & 0o111).not.toBe(0);
  });
});

describe.skipIf(!headersInstalled)('on a host whose Node installation has its headers', () => {
  it("configures an addon offline with the installation's headers, where npm's node-gyp alone tries to download them and fails", async () => {
    const env = await offlineEnv();
    const before = await npmNodeGyp();
    if (before !== null) {
      const plain = await attempt(before, ['configure'], env, addon());
      expect(plain.code).not.toBe(0);
      expect(plain.stderr).toMatch(/gyp ERR!/);
    }
    const r = await attempt(WRAPPER, ['configure'], env, addon());
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/-Dnode_root_dir=\//);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/gyp http GET/);
  });
});

describe('what is missing, in one line', () => {
  it('headers that are neither installed nor downloadable', async () => {
    const r = await attempt(WRAPPER, ['configure', '--target=19.0.0'], await offlineEnv(), addon());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^moat install: Node's headers for v19\.0\.0 are not installed here \(looked in .*include\/node.*\) and could not be downloaded \(.+\): install them .*npm_config_nodedir=.*npm_config_tarball=<node-v19\.0\.0-headers\.tar\.gz>; then run npm install again\n$/,
    );
    expect(r.stderr).not.toMatch(/gyp ERR!/);
    expect(r.stdout).toBe('');
  });

  it('a compiler, make and python that are not on PATH', async () => {
    const r = await attempt(
      WRAPPER,
      ['rebuild', '--release'],
      await offlineEnv({ PATH: tmpDir('moat-empty-path-'), PYTHON: '', npm_config_python: '', CXX: '' }),
      addon(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'moat install: better-sqlite3 has no prebuilt binary for this machine and must be compiled, but python3, make, a C++ compiler are missing (Debian/Ubuntu: apt install python3 make g++; Fedora: dnf install python3 make gcc-c++; macOS: xcode-select --install); then run npm install again\n',
    );
  });
});
