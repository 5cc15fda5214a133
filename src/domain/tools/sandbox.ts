/**
 * The bubblewrap sandbox of exec: builds bwrap's argument list (the command sees the run's
 * workspace read-write at /workspace, the system's read-only directories, a private /tmp, /proc
 * and /dev, no network unless allowed, no capabilities) and probes once whether bwrap works here
 * (it may need unprivileged user namespaces). Spawns nothing but that probe.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the workspace appears inside the sandbox. */
export const SANDBOX_WORKSPACE = '/workspace';
/** PATH commands get unless the operator passes the gateway's own. */
export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** System directories bound read-only (or recreated as the links they are on merged-/usr systems). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** The parts of /etc that programs need to start; not passwd, shadow, or anything with secrets. */
const SYSTEM_ETC = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/nsswitch.conf',
  '/etc/mime.types',
];
/** Name resolution, only with the network. */
const NETWORK_ETC = ['/etc/resolv.conf', '/etc/hosts', '/etc/host.conf', '/etc/gai.conf'];
const PROBE_TIMEOUT_MS = 5000;

/** bwrap arguments that recreate the host's system directories read-only. */
export function systemBinds(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  for (const path of SYSTEM_ETC) args.push('--ro-bind-try', path, path);
  return args;
}

/** The first executable `name` on a PATH string (no shell involved), or null. */
export function findExecutable(name: string, pathEnv: string | undefined): string | null {
  for (const dir of (pathEnv ?? DEFAULT_PATH).split(delimiter)) {
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

export interface SandboxCommand {
  /** The run's workspace on the host, bound read-write at /workspace. */
  workspace: string;
  /** Working directory inside the sandbox (/workspace or below). */
  cwd: string;
  network: boolean;
  argv: readonly string[];
}

/** bwrap's argument list for one command; argv goes after `--`, never through a shell. */
export function bwrapArgs(
  system: readonly string[],
  cmd: { workspace?: string; cwd: string; network: boolean; argv: readonly string[] },
  asRoot: boolean,
): string[] {
  return [
    '--unshare-all',
    ...(cmd.network ? ['--share-net'] : []),
    '--die-with-parent',
    // TIOCSTI: a new session keeps the command from typing into the gateway's terminal.
    '--new-session',
    ...(asRoot ? ['--cap-drop', 'ALL'] : []),
    ...system,
    ...(cmd.network ? NETWORK_ETC.flatMap((p) => ['--ro-bind-try', p, p]) : []),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...(cmd.workspace === undefined ? [] : ['--bind', cmd.workspace, SANDBOX_WORKSPACE]),
    '--chdir',
    cmd.cwd,
    '--',
    ...cmd.argv,
  ];
}

export class Sandbox {
  private constructor(
    /** Absolute path of bwrap. */
    readonly bwrap: string,
    private readonly system: readonly string[],
    private readonly asRoot: boolean,
  ) {}

  /** The program and arguments that run `cmd.argv` inside the sandbox. */
  command(cmd: SandboxCommand): { file: string; args: string[] } {
    return { file: this.bwrap, args: bwrapArgs(this.system, cmd, this.asRoot) };
  }

  /**
   * Finds bwrap on PATH and runs `true` in a sandbox once: the sandbox is available only if that
   * works (user namespaces may be off). Resolves null otherwise, with the reason.
   */
  static async probe(pathEnv: string | undefined): Promise<{ sandbox: Sandbox | null; reason: string | null }> {
    const bwrap = findExecutable('bwrap', pathEnv);
    if (bwrap === null) return { sandbox: null, reason: 'bwrap (bubblewrap) is not installed' };
    const asRoot = process.getuid?.() === 0;
    const system = systemBinds();
    const args = bwrapArgs(system, { cwd: '/', network: false, argv: ['true'] }, asRoot);
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(bwrap, args, { env: { PATH: DEFAULT_PATH }, stdio: ['ignore', 'ignore', 'pipe'], timeout: PROBE_TIMEOUT_MS });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(0, 500)));
      child.on('error', (err) => resolve({ code: null, stderr: err.message }));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    if (result.code !== 0) return { sandbox: null, reason: `bwrap does not work here: ${result.stderr.trim() || `exit ${result.code}`}` };
    return { sandbox: new Sandbox(bwrap, system, asRoot), reason: null };
  }
}
