/**
 * Runs one `command` service as a child process in its own process group (argv list, never a
 * shell), with an environment marker that lets a later boot recognise it, and stops it: SIGTERM to
 * the group, SIGKILL after the grace period, and SIGKILL to whatever of the group outlives the
 * leader. Knows nothing of states or policies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when the program could not be started at all (ENOENT, EACCES, ...). */
  spawnError: string | null;
  /** Starting again cannot help (no container engine, an image that may not be pulled): failed at once. */
  fatal?: boolean;
}

export interface RunSpec {
  name: string;
  argv: readonly string[];
  cwd: string | null;
  env: Readonly<Record<string, string>>;
  /** PORT for the child, from the service's baseUrl. */
  port: string | null;
}

/** Environment variables that mark a child as ours (see orphans.ts). */
export const SERVICE_ENV = 'MOAT_SERVICE';
export const INSTANCE_ENV = 'MOAT_SERVICE_INSTANCE';

/**
 * The child's environment: moat's own, without MOAT_* (the admin token may be in MOAT_ADMIN_TOKEN,
 * the CLI's in MOAT_TOKEN: a service must not inherit the keys to the gateway), then the service's
 * env, PORT and the markers.
 */
export function childEnv(spec: RunSpec, marker: string, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(parent)) if (!k.startsWith('MOAT_') && v !== undefined) env[k] = v;
  if (spec.port !== null) env['PORT'] = spec.port;
  for (const [k, v] of Object.entries(spec.env)) if (!k.startsWith('MOAT_')) env[k] = v;
  env[SERVICE_ENV] = spec.name;
  env[INSTANCE_ENV] = marker;
  return env;
}

export class RunningProcess {
  readonly pid: number | null;
  readonly marker: string;
  readonly startedAt: number;
  /** Resolves once when the leader has exited (or failed to start). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private killTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly child: ChildProcess,
    marker: string,
    startedAt: number,
  ) {
    this.pid = child.pid ?? null;
    this.marker = marker;
    this.startedAt = startedAt;
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo) => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        if (this.killTimer) clearTimeout(this.killTimer);
        // Whatever of the group outlives the leader (a grandchild that ignored SIGTERM, a worker
        // the service forked) goes with it: no orphan keeps the GPU or the port.
        this.signalGroup('SIGKILL');
        resolve(info);
      };
      child.once('exit', (code, signal) => done({ code, signal, spawnError: null }));
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (this.pid === null) done({ code: null, signal: null, spawnError: err.code ?? err.message });
      });
    });
  }

  /** Spawns the service. Failure to start is reported through `exited`, never thrown. */
  static spawn(spec: RunSpec, now: number): RunningProcess {
    const marker = randomBytes(12).toString('hex');
    const [program, ...args] = spec.argv;
    const child = spawn(program as string, args, {
      cwd: spec.cwd ?? undefined,
      env: childEnv(spec, marker),
      // Its own process group: the whole tree can be signalled at once, and a terminal's ^C to
      // moat does not reach the children before moat decides how to stop them.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    return new RunningProcess(child, marker, now);
  }

  get stdout(): Readable | null {
    return this.child.stdout;
  }
  get stderr(): Readable | null {
    return this.child.stderr;
  }
  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** Sends `signal` to the child's process group (ignores a group that is already gone). */
  signalGroup(signal: NodeJS.Signals): void {
    if (this.pid === null) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: nothing left in the group.
    }
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the leader has exited. */
  terminate(graceMs: number): Promise<ExitInfo> {
    if (this.exitInfo) return this.exited;
    if (graceMs <= 0) {
      this.signalGroup('SIGKILL');
    } else {
      this.signalGroup('SIGTERM');
      this.killTimer ??= setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    }
    return this.exited;
  }
}
