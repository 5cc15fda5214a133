/**
 * Runs one command for exec: an argument list (never a shell), a scrubbed environment, its own
 * process group, wall-time and output caps. On timeout the whole group gets SIGTERM, then SIGKILL;
 * when the command exits, whatever it left running in its group is killed too. Knows nothing of
 * paths or policy (the exec tool resolved the working directory through the path rule).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { GatewayError } from '../../errors.js';
import { DEFAULT_PATH, SANDBOX_WORKSPACE, type Sandbox } from './sandbox.js';

export interface ExecLimits {
  /** Names of the gateway's environment variables passed through. */
  env: readonly string[];
  timeoutMs: number;
  maxOutputBytes: number;
  maxConcurrent: number;
  network: boolean;
  sandbox: 'auto' | 'required' | 'off';
}

export interface ExecSpec {
  argv: readonly string[];
  /** Working directory on the host (without the sandbox). */
  cwdHost: string;
  /** Working directory relative to the workspace (with the sandbox). */
  cwdRelative: string;
  workspaceHost: string;
  stdin?: string | undefined;
  timeoutMs: number;
  /** The run the command belongs to: deleting the run kills it. */
  runId: string;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
  sandboxed: boolean;
  /** Killed because its run was deleted. */
  stopped: boolean;
}

/** Time between SIGTERM and SIGKILL of a timed-out group. */
const KILL_GRACE_MS = 1000;
/** After the command exits, how long output from a process that escaped its group is awaited. */
const STDIO_GRACE_MS = 500;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Sends `signal` to the process group `pgid`; a group that is gone is fine. */
function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* ESRCH: nothing left in the group */
  }
}

/** Bytes of one output stream up to a cap; the rest is read and dropped so the command never blocks. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

interface Running {
  runId: string;
  /** Marks the command as stopped (its run was deleted) and kills its group. */
  stop(): void;
  /** Settles when the command has exited (or failed to start). */
  exited: Promise<void>;
}

export class ExecRunner {
  /** Commands running, by process group id. */
  private readonly running = new Map<number, Running>();

  constructor(
    private readonly limits: ExecLimits,
    /** The gateway's environment, read only for the names in `limits.env`. */
    private readonly sourceEnv: Readonly<Record<string, string | undefined>>,
    private readonly sandbox: () => Sandbox | null,
    private readonly now: () => number = Date.now,
  ) {
    for (const name of limits.env) {
      if (!ENV_NAME.test(name)) throw new GatewayError('config_invalid', `tools.exec.env: ${JSON.stringify(name)} is not an environment variable name`);
      // Environment leakage: the gateway's own settings (an admin token in MOAT_ADMIN_TOKEN, the CLI's MOAT_TOKEN) stay with it.
      if (name.startsWith('MOAT_'))
        throw new GatewayError('config_invalid', `tools.exec.env: ${name} is the gateway's own setting and is never passed to commands`);
    }
  }

  /** The sandbox commands run in, or null when they run without one. */
  activeSandbox(): Sandbox | null {
    return this.limits.sandbox === 'off' ? null : this.sandbox();
  }

  /** Why exec cannot run here (sandbox required and unavailable), or null. */
  unavailable(): string | null {
    if (this.limits.sandbox === 'required' && this.sandbox() === null) return 'tools.exec.sandbox is required and bubblewrap does not work on this host';
    return null;
  }

  /** Environment leakage: only PATH, HOME and the variables the operator listed. */
  private environment(home: string): Record<string, string> {
    const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: home };
    for (const name of this.limits.env) {
      const value = this.sourceEnv[name];
      if (value !== undefined) env[name] = value;
    }
    return env;
  }

  run(spec: ExecSpec): Promise<ExecResult> {
    if (this.running.size >= this.limits.maxConcurrent) {
      throw new GatewayError('overloaded', `tools.exec.maxConcurrent (${this.limits.maxConcurrent}) commands are running; retry later`, {
        headers: { 'retry-after': '1' },
      });
    }
    const sandbox = this.activeSandbox();
    let file: string;
    let args: string[];
    let cwd: string;
    let env: Record<string, string>;
    if (sandbox) {
      const inside = spec.cwdRelative === '' ? SANDBOX_WORKSPACE : `${SANDBOX_WORKSPACE}/${spec.cwdRelative}`;
      ({ file, args } = sandbox.command({ workspace: spec.workspaceHost, cwd: inside, network: this.limits.network, argv: spec.argv }));
      cwd = spec.workspaceHost;
      env = this.environment(SANDBOX_WORKSPACE);
    } else {
      file = spec.argv[0] as string;
      args = spec.argv.slice(1);
      cwd = spec.cwdHost;
      env = this.environment(spec.workspaceHost);
    }
    const started = this.now();
    // detached: the command leads a new process group (and session), so the group can be killed whole.
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    return this.supervise(child, spec, started, sandbox !== null);
  }

  private supervise(child: ChildProcess, spec: ExecSpec, started: number, sandboxed: boolean): Promise<ExecResult> {
    const stdout = new Capture(this.limits.maxOutputBytes);
    const stderr = new Capture(this.limits.maxOutputBytes);
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    child.stdin?.on('error', () => undefined); // a command that does not read stdin closes it early
    child.stdin?.end(spec.stdin ?? '');
    const pid = child.pid;
    let stopped = false;
    const result = new Promise<ExecResult>((resolve, reject) => {
      let timedOut = false;
      let exit: { code: number | null; signal: string | null } | null = null;
      let killTimer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        if (pid === undefined) return;
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
      }, spec.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        clearTimeout(graceTimer);
        if (pid !== undefined) this.running.delete(pid);
      };
      const finish = () => {
        if (exit === null) return;
        done();
        resolve({
          exitCode: exit.code,
          signal: exit.signal,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut,
          durationMs: this.now() - started,
          sandboxed,
          stopped,
        });
      };
      child.once('error', (err: NodeJS.ErrnoException) => {
        done();
        if (err.code === 'ENOENT') reject(new GatewayError('tool_failed', 'command not found', { extra: { reason: 'command_not_found' } }));
        else if (err.code === 'EACCES') reject(new GatewayError('tool_failed', 'command not executable', { extra: { reason: 'permission_denied' } }));
        else reject(err);
      });
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        // Nothing the command started outlives the call: the rest of its group goes with it.
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
        // A process that left the group may hold stdout open: stop waiting for it after a moment.
        graceTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, STDIO_GRACE_MS);
      });
      child.once('close', finish);
    });
    if (pid !== undefined) {
      const exited = result.then(
        () => undefined,
        () => undefined,
      );
      this.running.set(pid, {
        runId: spec.runId,
        stop: () => {
          stopped = true;
          killGroup(pid, 'SIGKILL');
        },
        exited,
      });
    }
    return result;
  }

  /** Kills the commands of a run (it is being deleted); resolves with how many once they have exited. */
  async stopRun(runId: string): Promise<number> {
    const mine = [...this.running.values()].filter((r) => r.runId === runId);
    for (const r of mine) r.stop();
    await Promise.all(mine.map((r) => r.exited));
    return mine.length;
  }

  /** Whether any command is still running (a runner replaced by a live change lives until none is). */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Kills every running command's group (gateway shutdown). */
  stop(): void {
    for (const pid of this.running.keys()) killGroup(pid, 'SIGKILL');
    this.running.clear();
  }
}
