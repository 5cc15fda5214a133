/**
 * The install on a host that reaches only the npm registry: better-sqlite3 finds no prebuilt binary
 * and is compiled by the node-gyp that .npmrc names (scripts/node-gyp.cjs). It takes Node's headers
 * from the installation (no download), and says in one line what is missing otherwise. Proven on a
 * tiny addon's `configure` (seconds), with downloads pointed at a closed loopback port.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRAPPER = join(ROOT, 'scripts', 'node-gyp.cjs');
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

describe('the project .npmrc', () => {
  it('makes npm run scripts/node-gyp.cjs as node-gyp (for npm install and npm ci alike)', async () => {
    const { stdout } = await run('npm', ['config', 'get', 'node-gyp'], { cwd: ROOT });
    expect(stdout.trim()).toBe(WRAPPER);
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
    expect(r.stderr).toMatch(/^moat install: Node's headers for v19\.0\.0 are not installed here \(looked in .*include\/node.*\) and could not be downloaded \(.+\): install them .*npm_config_nodedir=.*npm_config_tarball=<node-v19\.0\.0-headers\.tar\.gz>; then run npm install again\n$/);
    expect(r.stderr).not.toMatch(/gyp ERR!/);
    expect(r.stdout).toBe('');
  });

  it('a compiler, make and python that are not on PATH', async () => {
    const r = await attempt(WRAPPER, ['rebuild', '--release'], await offlineEnv({ PATH: tmpDir('moat-empty-path-'), PYTHON: '', npm_config_python: '', CXX: '' }), addon());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'moat install: better-sqlite3 has no prebuilt binary for this machine and must be compiled, but python3, make, a C++ compiler are missing (Debian/Ubuntu: apt install python3 make g++; Fedora: dnf install python3 make gcc-c++; macOS: xcode-select --install); then run npm install again\n',
    );
  });
});
