/**
 * Runs one `container` service through the Engine API, the way process-runner.ts runs a command:
 * image check (and pull), create with moat's labels, start, logs followed into the service's log,
 * the published loopback port read back, then a wait for the exit; stop is the engine's SIGTERM
 * then SIGKILL after the grace period, and the container is always removed afterwards. Failure
 * to start is reported through `exited`, never thrown. Knows nothing of states or policies.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { EngineError, EngineClient, PullProgress } from '../../egress/engine.js';
import { demux } from '../../egress/engine-stream.js';
import type { ContainerDefinition } from '../services/container-spec.js';
import { createBody, LABEL_INSTANCE, LABEL_MANAGED, LABEL_SERVICE } from './container-body.js';
import type { ExitInfo } from './process-runner.js';

export interface ContainerRunSpec {
  service: string;
  container: ContainerDefinition;
  env: Readonly<Record<string, string>>;
  /** The install's id (label moat.instance). */
  instance: string;
}

export interface ContainerRunHooks {
  engine: EngineClient;
  /** A line of moat's own in the service's log. */
  note(text: string): void;
  /** The container's output, demultiplexed. */
  attach(stdout: Readable, stderr: Readable): void;
  /** Pull progress (throttled) for live events. */
  progress(p: PullProgress & { image: string }): void;
  /** A pull ended (for the audit). */
  pulled(image: string, error: string | null): void;
}

/** What to tell the operator when the engine is not there. */
export function unreachableHint(reason: string): string {
  return `${reason}: start Docker (systemctl start docker) or Podman's API service (podman system service --time 0 unix:///run/podman/podman.sock), or point supervisor.containers.socket (MOAT_CONTAINER_SOCKET) at the engine`;
}

/** Progress lines of one layer are noted at most this often (a pull prints thousands). */
const PROGRESS_EVERY_MS = 2000;
/** After the exit, how long the followed log may take to deliver its last lines. */
const LOG_DRAIN_MS = 2000;

export class RunningContainer {
  readonly pid = null;
  /** Random; the container's name ends with it, and the run file records it. */
  readonly marker: string;
  readonly startedAt: number;
  readonly name: string;
  /** The container's id once created. */
  id: string | null = null;
  /** http://127.0.0.1:<published port> once it runs. */
  endpoint: string | null = null;
  /** Resolves true once the container runs with its port known, false if it never got there. */
  readonly started: Promise<boolean>;
  readonly exited: Promise<ExitInfo>;
  private markStarted!: (ok: boolean) => void;
  private readonly abort = new AbortController();
  private stopGraceMs: number | null = null;
  private running = false;
  private stopped: Promise<void> | null = null;
  private logs: Readable | null = null;
  private exitInfo: ExitInfo | null = null;

  private constructor(
    private readonly spec: ContainerRunSpec,
    private readonly hooks: ContainerRunHooks,
    now: number,
  ) {
    this.marker = randomBytes(12).toString('hex');
    this.startedAt = now;
    this.name = `moat-${spec.service}-${this.marker.slice(0, 12)}`;
    this.started = new Promise<boolean>((resolve) => (this.markStarted = resolve));
    this.exited = this.run().then(
      (info) => this.settle(info),
      (err: unknown) => this.settle({ code: null, signal: null, spawnError: (err as Error).message }),
    );
  }

  /** Starts the container in the background. */
  static launch(spec: ContainerRunSpec, hooks: ContainerRunHooks, now: number): RunningContainer {
    return new RunningContainer(spec, hooks, now);
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  private settle(info: ExitInfo): ExitInfo {
    this.exitInfo = info;
    this.running = false;
    this.endpoint = null;
    this.markStarted(false);
    return info;
  }

  private async run(): Promise<ExitInfo> {
    const { engine } = this.hooks;
    const c = this.spec.container;
    const signal = this.abort.signal;
    try {
      await this.removeLeftovers();
      if (!(await engine.imageExists(c.image, signal))) {
        if (c.pull === 'never') {
          return fatal(`image ${c.image} is not present and pull is "never": pull it first (docker pull ${c.image}, or podman pull) or set pull to "missing"`);
        }
        await this.pull(c.image, signal);
      }
      if (signal.aborted) return this.cleanup({ code: null, signal: null, spawnError: null });
      this.id = await engine.create(
        this.name,
        createBody({ service: this.spec.service, instance: this.spec.instance, container: c, env: this.spec.env }),
        signal,
      );
      await engine.start(this.id, signal);
      this.running = true;
      this.hooks.note(`started container ${this.id.slice(0, 12)} (${c.image})`);
      this.followLogs(this.id);
      const info = await engine.inspect(this.id);
      const port = c.network === 'host' ? c.port : info.publishedPort(c.port);
      if (port === null) {
        this.hooks.note(`the engine published no port for ${c.port}/tcp on 127.0.0.1`);
        return await this.cleanup({ code: null, signal: null, spawnError: `no published port for ${c.port}/tcp` });
      }
      this.endpoint = `http://127.0.0.1:${port}`;
      if (this.stopGraceMs === null) this.markStarted(true);
      else void this.stopContainer(this.stopGraceMs);
    } catch (err) {
      const e = err as EngineError;
      if (e.failure === 'aborted') return this.cleanup({ code: null, signal: null, spawnError: null });
      if (e.failure === 'unreachable') return fatal(unreachableHint(e.message));
      // A create the engine refuses as a bad request (a mount, a device, an option) fails the same way every time.
      const info: ExitInfo = {
        code: null,
        signal: null,
        spawnError: e.message ?? String(err),
        ...(e.failure === 'refused' && this.id === null ? { fatal: true } : {}),
      };
      return this.cleanup(info);
    }
    let code: number | null = null;
    try {
      code = await engine.wait(this.id);
    } catch (err) {
      return this.cleanup({ code: null, signal: null, spawnError: `lost the container engine while the container ran (${(err as Error).message})` });
    }
    this.running = false;
    await this.drainLogs();
    return this.cleanup({ code, signal: null, spawnError: null });
  }

  /** Containers of this service left by an earlier start (an engine that lost a wait, say) go first. */
  private async removeLeftovers(): Promise<void> {
    const { engine } = this.hooks;
    const old = await engine.list([`${LABEL_MANAGED}=true`, `${LABEL_INSTANCE}=${this.spec.instance}`, `${LABEL_SERVICE}=${this.spec.service}`]);
    for (const o of old) {
      if (o.labels[LABEL_INSTANCE] !== this.spec.instance || o.labels[LABEL_SERVICE] !== this.spec.service) continue;
      this.hooks.note(`removing container ${o.id.slice(0, 12)} left by an earlier start`);
      await engine.remove(o.id);
    }
  }

  private async pull(image: string, signal: AbortSignal): Promise<void> {
    this.hooks.note(`pulling ${image}`);
    const last = new Map<string, { status: string; at: number }>();
    try {
      await this.hooks.engine.pull(
        image,
        (p) => {
          const key = p.id ?? '';
          const prev = last.get(key);
          const now = Date.now();
          if (prev && prev.status === p.status && now - prev.at < PROGRESS_EVERY_MS) return;
          last.set(key, { status: p.status, at: now });
          this.hooks.note(`pull: ${p.id ? `${p.id} ` : ''}${p.status}${p.progress ? ` ${p.progress}` : ''}`);
          this.hooks.progress({ ...p, image });
        },
        signal,
      );
    } catch (err) {
      if ((err as EngineError).failure !== 'aborted') this.hooks.pulled(image, (err as Error).message);
      throw err;
    }
    this.hooks.note(`pulled ${image}`);
    this.hooks.pulled(image, null);
  }

  private followLogs(id: string): void {
    void this.hooks.engine.logs(id).then(
      (stream) => {
        this.logs = stream;
        const { stdout, stderr } = demux(stream);
        this.hooks.attach(stdout, stderr);
      },
      (err: unknown) => this.hooks.note(`cannot follow the container's output: ${(err as Error).message}`),
    );
  }

  /** Waits (a bounded time) for the followed log to deliver the last lines, then lets it go. */
  private async drainLogs(): Promise<void> {
    const logs = this.logs;
    if (!logs || logs.destroyed || logs.readableEnded) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, LOG_DRAIN_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      logs.once('end', done);
      logs.once('close', done);
    });
    logs.destroy();
  }

  /** Removes the container (by name: a create that was aborted may still have made one). */
  private async cleanup(info: ExitInfo): Promise<ExitInfo> {
    this.running = false;
    this.logs?.destroy();
    try {
      await this.hooks.engine.remove(this.id ?? this.name);
    } catch (err) {
      this.hooks.note(`could not remove container ${this.id?.slice(0, 12) ?? this.name}: ${(err as Error).message} (the next boot removes it)`);
    }
    return info;
  }

  private stopContainer(graceMs: number): Promise<void> {
    this.stopped ??= this.hooks.engine.stop(this.id as string, Math.ceil(graceMs / 1000)).catch((err: unknown) => {
      this.hooks.note(`stop failed: ${(err as Error).message}`);
      // The wait will not return by itself: remove it outright (or leave it to the next boot).
      void this.hooks.engine.remove(this.id as string).catch(() => undefined);
    });
    return this.stopped;
  }

  /** Stops it: aborts a pull or start in progress; a running container gets SIGTERM, SIGKILL after `graceMs`. */
  terminate(graceMs: number): Promise<ExitInfo> {
    if (this.exitInfo) return this.exited;
    this.stopGraceMs ??= graceMs;
    if (this.running && this.id !== null) void this.stopContainer(graceMs);
    else this.abort.abort();
    return this.exited;
  }
}

function fatal(reason: string): ExitInfo {
  return { code: null, signal: null, spawnError: reason, fatal: true };
}
