#!/usr/bin/env node
/**
 * The node-gyp that native packages of this project build with: a local package (a dependency,
 * `file:scripts/node-gyp`) whose `node-gyp` bin npm links into node_modules/.bin before install
 * scripts run, so that better-sqlite3's `node-gyp rebuild` finds it first on PATH. It runs npm's
 * own node-gyp, with two things added for a host that reaches only the npm registry, where
 * better-sqlite3 finds no prebuilt binary and must be compiled:
 *  - Node's headers are taken from the installation when they are there (Debian's nodejs, the
 *    official tarballs and nvm all ship <prefix>/include/node): no download from nodejs.org;
 *  - what is missing (a compiler, make, python3, or headers that could not be downloaded) is said
 *    in one line, instead of a wall of `gyp ERR!`.
 * An explicit nodedir (npm_config_nodedir, --nodedir) or headers tarball is used as given. Build
 * errors of the code itself are shown in full. Uses argument lists only, never a shell.
 */
'use strict';
const { spawn } = require('node:child_process');
const { existsSync, readFileSync, realpathSync } = require('node:fs');
const { homedir } = require('node:os');
const { delimiter, dirname, join } = require('node:path');

const args = process.argv.slice(2);
const env = process.env;

/** npm's node-gyp: the one npm names for scripts (npm_config_node_gyp), its bundled one, or one installed here. */
function realNodeGyp() {
  const candidates = [];
  const self = realpathSync(__filename);
  if (env.npm_config_node_gyp && existsSync(env.npm_config_node_gyp) && realpathSync(env.npm_config_node_gyp) !== self)
    candidates.push(env.npm_config_node_gyp);
  if (env.npm_execpath) candidates.push(join(dirname(env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    const found = require.resolve('node-gyp/bin/node-gyp.js', { paths: [process.cwd()] });
    return found === self ? null : found;
  } catch {
    return null;
  }
}

/** The Node version being built for: --target=X, else this node. */
function targetVersion() {
  const t = args.find((a) => a.startsWith('--target='));
  return (t ? t.slice('--target='.length) : process.version).replace(/^v/, '');
}

/** Version of the headers in <dir>/include/node, or null. */
function headersVersion(dir) {
  try {
    const h = readFileSync(join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    const part = (name) => new RegExp(`#define ${name} (\\d+)`).exec(h)?.[1];
    if (!existsSync(join(dir, 'include', 'node', 'common.gypi'))) return null;
    return `${part('NODE_MAJOR_VERSION')}.${part('NODE_MINOR_VERSION')}.${part('NODE_PATCH_VERSION')}`;
  } catch {
    return null;
  }
}

/** Where an installation keeps its headers: its build prefix, the prefix of this node, the usual ones. */
const PREFIXES = [
  ...new Set([process.config.variables.node_prefix, dirname(dirname(process.execPath)), '/usr', '/usr/local'].filter((p) => typeof p === 'string' && p !== '')),
];

/** The installation's own headers for `version`, if present. */
function localNodeDir(version) {
  return PREFIXES.find((p) => headersVersion(p) === version) ?? null;
}

/** Headers node-gyp downloaded before (its cache), which it uses without the network. */
function cachedHeaders(version) {
  const devdir = env.npm_config_devdir || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'node-gyp');
  return headersVersion(join(devdir, version)) === version;
}

function onPath(names) {
  const dirs = (env.PATH || '').split(delimiter).filter(Boolean);
  return names.some((n) => (n.includes('/') ? existsSync(n) : dirs.some((d) => existsSync(join(d, n)))));
}

/** Tools a compile needs that are not on PATH, by the name a person installs. */
function missingTools() {
  const missing = [];
  const python = env.npm_config_python || env.PYTHON;
  if (!onPath(python ? [python] : ['python3', 'python'])) missing.push('python3');
  if (!onPath(['make', 'gmake'])) missing.push('make');
  if (!onPath(env.CXX ? [env.CXX.split(' ')[0]] : ['c++', 'g++', 'clang++'])) missing.push('a C++ compiler');
  return missing;
}

const INSTALL_HINT = 'Debian/Ubuntu: apt install python3 make g++; Fedora: dnf install python3 make gcc-c++; macOS: xcode-select --install';

function fail(line) {
  process.stderr.write(`moat install: ${line}\n`);
  process.exit(1);
}

const real = realNodeGyp();
if (real === null) fail('cannot find node-gyp (npm ships one); set npm_config_node_gyp to its bin/node-gyp.js');

const building = args.some((a) => a === 'rebuild' || a === 'build' || a === 'configure' || a === 'install');
const explicit = env.npm_config_nodedir || env.npm_config_tarball || args.some((a) => a.startsWith('--nodedir') || a.startsWith('--tarball'));
const version = targetVersion();
let willDownload = false;
if (building) {
  const missing = missingTools();
  if (missing.length > 0) {
    fail(
      `better-sqlite3 has no prebuilt binary for this machine and must be compiled, but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (${INSTALL_HINT}); then run npm install again`,
    );
  }
  if (!explicit) {
    const dir = localNodeDir(version);
    if (dir !== null) args.push(`--nodedir=${dir}`);
    else willDownload = !cachedHeaders(version);
  }
}

const child = spawn(process.execPath, [real, ...args], { stdio: willDownload ? ['inherit', 'pipe', 'pipe'] : 'inherit' });
let output = '';
if (willDownload) {
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
}
child.on('exit', (code, signal) => {
  if (code === 0 || !willDownload) {
    if (output) process.stdout.write(output);
    process.exit(code ?? (signal ? 1 : 0));
  }
  // Headers had to come from the network: when that is what failed, say it in one line.
  const netError =
    /(fetch failed|bad port|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|self[- ]signed|certificate|\d{3} response downloading|problem while downloading)/.exec(
      output,
    );
  if (netError && /download|tarball|headers|request to/i.test(output)) {
    fail(
      `Node's headers for v${version} are not installed here (looked in ${PREFIXES.map((p) => join(p, 'include', 'node')).join(', ')}) and could not be downloaded (${netError[1]}): install them (Debian/Ubuntu: they come with the nodejs package from the distribution; official Node tarballs and nvm ship include/node), or set npm_config_nodedir=<a Node install with include/node>, or npm_config_tarball=<node-v${version}-headers.tar.gz>; then run npm install again`,
    );
  }
  process.stderr.write(output);
  process.exit(code ?? 1);
});
