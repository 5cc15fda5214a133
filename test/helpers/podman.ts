/**
 * A real container engine for tests: one throwaway Podman API service (`podman system service`,
 * the Docker-compatible Engine API) per test file, with its own storage root, runroot, tmpdir and
 * socket in a temp dir, and a busybox image built offline (`podman import` of a busybox rootfs:
 * no registry is reachable). Podman here needs runc, the cgroupfs manager and no default ulimits
 * (see the containers note). Stopped by pid, its containers and storage removed, when the file ends.
 * Without podman: the tests fail when CI is set, and are skipped with a printed reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'undici';
import { describe } from 'vitest';
import { tmpDir } from './gateway.js';

export const BUSYBOX = '/bin/busybox';
/** The image every container test runs. */
export const IMAGE = 'localhost/moat-test-busybox:1';

/** Why podman tests cannot run here, or null. */
export function podmanUnavailable(): string | null {
  if (process.platform !== 'linux') return 'podman tests run on Linux only';
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman is not installed (apt-get install podman runc busybox-static)';
  if (spawnSync('runc', ['--version']).status !== 0) return 'runc is not installed (apt-get install runc)';
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (apt-get install busybox-static)`;
  const file = spawnSync('file', ['-L', BUSYBOX], { encoding: 'utf8' });
  if (file.status === 0 && !/statically linked/.test(file.stdout)) return `${BUSYBOX} is not statically linked (apt-get install busybox-static)`;
  if (process.getuid?.() !== 0) return 'podman tests run as root here (rootless podman needs subuids and another setup)';
  return null;
}

/**
 * `describe` for tests that need podman: without it, a loud failure under CI and a printed skip
 * elsewhere (never a silent one).
 */
export function describePodman(name: string, fn: () => void): void {
  const why = podmanUnavailable();
  if (why !== null && process.env['CI']) throw new Error(`podman tests cannot run under CI: ${why}`);
  if (why !== null) process.stderr.write(`skipping "${name}": ${why}\n`);
  describe.skipIf(why !== null)(name, fn);
}

const CONTAINERS_CONF = `[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/** The files of the test image besides busybox: a health page and a CGI job endpoint that echoes the payload. */
const WWW: Record<string, { text: string; mode: number }> = {
  'www/health': { text: 'ok\n', mode: 0o644 },
  'www/index.html': { text: 'hello from a container\n', mode: 0o644 },
  'www/cgi-bin/job': {
    text: '#!/bin/sh\nbody=$(head -c "${CONTENT_LENGTH:-0}")\nprintf \'Content-Type: application/json\\r\\n\\r\\n{"ranIn":"container","job":"%s","payload":%s}\' "$HTTP_X_MOAT_JOB_ID" "${body:-null}"\n',
    mode: 0o755,
  },
  'www/cgi-bin/env': { text: "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n", mode: 0o755 },
};

export interface Podman {
  /** The Engine API socket (supervisor.containers.socket). */
  socket: string;
  dir: string;
  /** Runs the podman CLI against this engine's storage. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The containers of this engine (all, with labels), through the API. */
  containers(): Promise<Array<{ Id: string; Names: string[]; Labels: Record<string, string> | null; State: string }>>;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A busybox root filesystem as a tar (every applet linked, /www with the pages above). */
export function buildRootfsTar(dir: string): string {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const d of ['www/cgi-bin', 'tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  for (const [path, f] of Object.entries(WWW)) {
    writeFileSync(join(root, path), f.text);
    chmodSync(join(root, path), f.mode);
  }
  const tar = join(dir, 'rootfs.tar');
  const res = spawnSync('tar', ['-C', root, '-cf', tar, '.']);
  if (res.status !== 0) throw new Error(`tar failed: ${res.stderr}`);
  return tar;
}

async function waitForSocket(socket: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`podman system service exited ${child.exitCode}: ${log()}`);
    if (existsSync(socket)) {
      const client = new Client('http://localhost', { connect: { socketPath: socket } });
      try {
        const res = await client.request({ path: '/_ping', method: 'GET' });
        const text = await res.body.text();
        if (res.statusCode === 200 && text === 'OK') return;
      } catch {
        // not yet
      } finally {
        await client.close().catch(() => undefined);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`podman system service did not answer on ${socket} in 30 s: ${log()}`);
}

export interface PodmanOptions {
  /** Registries (host:port) the engine may pull from over plain HTTP (a test registry). */
  insecureRegistries?: string[];
}

/** Starts one Podman API service with the test image imported. */
export async function startPodman(opts: PodmanOptions = {}): Promise<Podman> {
  const dir = tmpDir('moat-podman-');
  writeFileSync(join(dir, 'containers.conf'), CONTAINERS_CONF);
  writeFileSync(join(dir, 'registries.conf'), (opts.insecureRegistries ?? []).map((r) => `[[registry]]\nlocation = "${r}"\ninsecure = true\n`).join('\n'));
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') };
  for (const k of Object.keys(env)) if (k.startsWith('MOAT_')) delete env[k];
  const global = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'runroot'),
    '--tmpdir',
    join(dir, 'tmp'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--runtime',
    'runc',
  ];
  const cli = (args: string[]) => run('podman', [...global, ...args], env);
  const imported = await cli(['import', '--change', 'WORKDIR=/', buildRootfsTar(dir), IMAGE]);
  if (imported.code !== 0) throw new Error(`podman import failed: ${imported.stderr}`);
  rmSync(join(dir, 'rootfs'), { recursive: true, force: true });
  const socket = join(dir, 'podman.sock');
  let log = '';
  const child = spawn('podman', [...global, 'system', 'service', '--time', '0', `unix://${socket}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitForSocket(socket, child, () => log);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let stopped: Promise<void> | null = null;
  const api = new Client('http://localhost', { connect: { socketPath: socket } });
  return {
    socket,
    dir,
    cli,
    async containers() {
      const res = await api.request({ path: '/containers/json?all=true', method: 'GET' });
      return (await res.body.json()) as Array<{ Id: string; Names: string[]; Labels: Record<string, string> | null; State: string }>;
    },
    stop: () =>
      (stopped ??= (async () => {
        await api.close().catch(() => undefined);
        await cli(['rm', '--all', '--force', '--time', '0']).catch(() => undefined);
        if (child.exitCode === null && child.pid !== undefined) {
          process.kill(child.pid, 'SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
