/**
 * The state machine of one service:
 *   stopped -> starting -> healthy <-> unhealthy -> stopping -> stopped, plus crashed, backoff, failed.
 * A `command` service's process is run by process-runner.ts, a `container` service's container by
 * container-runner.ts (through the engine), both probed by health-prober.ts; a `url` service is only probed. What a crash leads to is restart.ts's
 * decision (backoff per the restart policy until `maxAttempts` failures in a row, then `failed`).
 * Every transition is published; starts, stops, crashes and failures are audited.
 */
import type { AuditSink } from '../../audit/event.js';
import type { AuditType } from '../../audit/types.js';
import type { ProbeResult, UpstreamClient } from '../../egress/upstream.js';
import type { GatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import { listenPort, type ServiceDefinition } from '../services/spec.js';
import type { UpstreamHeaders } from '../services/upstream-headers.js';
import { RunningContainer } from './container-runner.js';
import type { ContainerHost } from './containers.js';
import { HealthProber, probeService } from './health-prober.js';
import { HealthWaiters } from './health-waiters.js';
import type { LogCapture } from './log-capture.js';
import type { RunFile } from './orphans.js';
import { RunningProcess, type ExitInfo } from './process-runner.js';
import { afterExit } from './restart.js';
import { type ServiceState, type UnitSnapshot, unavailableError } from './status.js';
import type { Actor } from '../../api/actor.js';

export interface ServiceEvent {
  type: string;
  service: string;
  [k: string]: unknown;
}

export interface UnitContext {
  upstream: UpstreamClient;
  audit: AuditSink;
  log: Logger;
  runFile: RunFile;
  containers: ContainerHost;
  stopGraceMs: number;
  now(): number;
  publish(event: ServiceEvent): void;
  /** The headers moat adds upstream for a service (its key), sent with every probe. */
  headersOf(name: string): UpstreamHeaders;
}

type StopReason = 'operator' | 'idle' | 'shutdown' | 'restart' | 'removed' | 'updated';

/** States in which a start on demand waits instead of answering 503 at once. */
const ON_THE_WAY: ReadonlySet<ServiceState> = new Set(['starting', 'backoff']);

export class ServiceUnit {
  state: ServiceState = 'stopped';
  private proc: RunningProcess | RunningContainer | null = null;
  private readonly prober: HealthProber;
  private okStreak = 0;
  private failStreak = 0;
  /** Failures in a row (crashes and unhealthy restarts); reset by an operator start or a stable period. */
  private failures = 0;
  private restarts = 0;
  private lastExit: (ExitInfo & { at: number }) | null = null;
  private lastHealth: (ProbeResult & { at: number }) | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private nextRestartAt: number | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  /** Set while we are the ones ending the process (a stop, or a restart because it was unhealthy). */
  private ending: 'stop' | 'unhealthy' | null = null;
  private lastActivity = 0;
  private active = 0;
  private readonly waiters = new HealthWaiters();

  constructor(
    public def: ServiceDefinition,
    readonly logs: LogCapture,
    private readonly ctx: UnitContext,
  ) {
    this.prober = new HealthProber({
      probe: () => probeService(this.def, this.endpoint, ctx.upstream, ctx.headersOf(this.name)),
      onResult: (r) => this.onProbe(r),
      intervalMs: () => this.def.health.intervalMs,
    });
  }

  get name(): string {
    return this.def.name;
  }

  /** Where a running container service is reached (its port published on 127.0.0.1), else null. */
  get endpoint(): string | null {
    return this.proc instanceof RunningContainer ? this.proc.endpoint : null;
  }

  snapshot(): UnitSnapshot {
    return {
      state: this.state,
      pid: this.proc?.pid ?? null,
      containerId: this.proc instanceof RunningContainer ? this.proc.id : null,
      endpoint: this.endpoint,
      startedAt: this.proc?.startedAt ?? null,
      restarts: this.restarts,
      failures: this.failures,
      lastExit: this.lastExit,
      lastHealth: this.lastHealth,
      nextRestartAt: this.nextRestartAt,
      active: this.active,
    };
  }

  private transition(to: ServiceState, detail: Record<string, unknown> = {}): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    // `pid` is the logger's own field (moat's pid): the child's goes in as childPid.
    const { pid, ...rest } = detail;
    this.ctx.log.info({ service: this.name, from, to, ...rest, ...(pid !== undefined ? { childPid: pid } : {}) }, `service ${this.name}: ${from} -> ${to}`);
    this.ctx.publish({ type: 'service.state', service: this.name, from, to, at: new Date(this.ctx.now()).toISOString(), ...detail });
    if (to === 'healthy') this.waiters.settle(null);
    else if (to === 'failed' || to === 'stopped' || to === 'unhealthy' || (to === 'crashed' && this.def.restart.policy === 'never')) {
      this.waiters.settle(this.unavailable(to));
    }
  }

  /** 503 service_unavailable saying why (status.ts). */
  unavailable(state: ServiceState, lead = `service ${this.name} is ${state}`): GatewayError {
    return unavailableError(this.name, state, { lastHealth: this.lastHealth, lastExit: this.lastExit, retryAfter: this.retryAfter(state) }, lead);
  }

  /** Seconds a client should wait before retrying a service in `state`. */
  retryAfter(state: ServiceState = this.state): string {
    if (state === 'failed') return '60';
    if (state === 'backoff' && this.nextRestartAt !== null) return String(Math.max(1, Math.ceil((this.nextRestartAt - this.ctx.now()) / 1000)));
    return String(Math.max(1, Math.ceil(this.def.health.intervalMs / 1000)));
  }

  private audit(type: AuditType, outcome: 'ok' | 'error', actor: Actor | undefined, detail: Record<string, unknown>): void {
    this.ctx.audit.record({ type, outcome, actor, detail: { service: this.name, ...detail } });
  }

  /** Starts the service (or resumes probing a url service). No-op when it is already up or on its way. */
  async start(reason: 'operator' | 'demand' | 'boot', actor?: Actor): Promise<void> {
    if (this.stopping) await this.stopping;
    if (this.state === 'starting' || this.state === 'healthy' || this.state === 'unhealthy') return;
    this.clearBackoff();
    this.failures = 0;
    this.restarts = 0;
    if (this.def.kind === 'url') {
      this.okStreak = this.failStreak = 0;
      this.lastHealth = null;
      this.transition('starting', { reason });
      this.prober.start(true);
      this.armStartDeadline();
      this.audit('service.started', 'ok', actor, { reason, kind: 'url' });
      return;
    }
    this.spawn(reason, actor);
  }

  private spawn(reason: string, actor?: Actor): void {
    const def = this.def;
    if (def.container) {
      this.launch(reason, actor);
      return;
    }
    const proc = RunningProcess.spawn({ name: def.name, argv: def.command as string[], cwd: def.cwd, env: def.env, port: listenPort(def) }, this.ctx.now());
    this.proc = proc;
    this.ending = null;
    this.okStreak = this.failStreak = 0;
    // A probe of the previous run says nothing about this one.
    this.lastHealth = null;
    if (proc.pid !== null) this.ctx.runFile.record({ name: def.name, pid: proc.pid, marker: proc.marker, startedAt: proc.startedAt });
    if (proc.stdout) this.logs.attach(proc.stdout, 'stdout');
    if (proc.stderr) this.logs.attach(proc.stderr, 'stderr');
    this.logs.note(proc.pid === null ? `could not start ${JSON.stringify(def.command?.[0])}` : `started pid ${proc.pid} (${reason})`);
    this.transition('starting', { reason, pid: proc.pid });
    this.audit(reason === 'restart' ? 'service.restarted' : 'service.started', 'ok', actor, { reason, pid: proc.pid, restarts: this.restarts });
    this.prober.start(true, 20);
    this.armStartDeadline();
    void proc.exited.then((info) => this.onExit(proc, info));
  }

  /** A container service: the engine pulls, creates and starts it; probing begins once its port is known. */
  private launch(reason: string, actor?: Actor): void {
    const def = this.def;
    const c = def.container as NonNullable<ServiceDefinition['container']>;
    const host = this.ctx.containers;
    const proc = RunningContainer.launch(
      { service: def.name, container: c, env: def.env, instance: host.instance },
      {
        engine: host.engine,
        note: (text) => this.logs.note(text),
        attach: (stdout, stderr) => {
          this.logs.attach(stdout, 'stdout');
          this.logs.attach(stderr, 'stderr');
        },
        progress: (p) => this.ctx.publish({ type: 'service.pull', service: def.name, ...p }),
        pulled: (image, error) =>
          this.audit('service.image_pulled', error === null ? 'ok' : 'error', undefined, { image, ...(error !== null ? { error } : {}) }),
      },
      this.ctx.now(),
    );
    this.proc = proc;
    this.ending = null;
    this.okStreak = this.failStreak = 0;
    this.logs.note(`starting a container of ${c.image} (${reason})`);
    this.transition('starting', { reason, image: c.image });
    this.audit(reason === 'restart' ? 'service.restarted' : 'service.started', 'ok', actor, { reason, image: c.image, restarts: this.restarts });
    this.armStartDeadline();
    void proc.started.then((ok) => {
      if (ok && this.proc === proc && this.state === 'starting') this.prober.start(true);
    });
    void proc.exited.then((info) => this.onExit(proc, info));
  }

  private armStartDeadline(): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = setTimeout(() => {
      this.startTimer = null;
      if (this.state !== 'starting') return;
      this.logs.note(`not healthy ${this.def.startTimeoutMs} ms after start`);
      this.becomeUnhealthy('start timeout');
    }, this.def.startTimeoutMs);
    this.startTimer.unref();
  }

  private onProbe(r: ProbeResult): void {
    const now = this.ctx.now();
    this.lastHealth = { ...r, at: now };
    if (r.ok) {
      this.okStreak++;
      this.failStreak = 0;
    } else {
      this.failStreak++;
      this.okStreak = 0;
    }
    const h = this.def.health;
    if ((this.state === 'starting' || this.state === 'unhealthy') && this.okStreak >= h.healthyThreshold) {
      if (this.startTimer) clearTimeout(this.startTimer);
      this.startTimer = null;
      this.prober.setFast(false);
      this.lastActivity = now;
      this.transition('healthy', { probeMs: r.ms });
    } else if (this.state === 'healthy' && this.failStreak >= h.unhealthyThreshold) {
      this.becomeUnhealthy(r.error ?? 'probe failed');
    } else if (this.state === 'starting' && this.def.kind === 'url' && this.failStreak >= h.unhealthyThreshold) {
      this.becomeUnhealthy(r.error ?? 'probe failed');
    } else if (this.state === 'healthy') {
      this.checkIdle(now);
    }
  }

  /** Unhealthy: a command service is restarted when its policy says so; otherwise probing goes on. */
  private becomeUnhealthy(reason: string): void {
    this.prober.setFast(false);
    this.transition('unhealthy', { reason });
    this.audit('service.unhealthy', 'error', undefined, { reason, probe: this.lastHealth?.error ?? null });
    if (this.def.kind !== 'url' && this.def.restart.policy !== 'never' && this.proc) {
      this.ending = 'unhealthy';
      this.prober.stop();
      this.logs.note(`restarting: unhealthy (${reason})`);
      void this.proc.terminate(this.ctx.stopGraceMs);
    }
  }

  private onExit(proc: RunningProcess | RunningContainer, info: ExitInfo): void {
    if (proc !== this.proc) return;
    const now = this.ctx.now();
    if (proc instanceof RunningProcess) this.ctx.runFile.forget(proc.marker);
    this.proc = null;
    this.prober.stop();
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.lastExit = { ...info, at: now };
    if (info.spawnError) this.logs.note(`failed to start: ${info.spawnError}`);
    else if (info.code !== null || info.signal !== null) this.logs.note(`exited with ${info.signal ? `signal ${info.signal}` : `code ${info.code}`}`);
    else this.logs.note('stopped before it ran');
    if (this.ending === 'stop') return; // stop() takes it from here
    const unhealthy = this.ending === 'unhealthy';
    this.ending = null;
    const exit = { exitCode: info.code, signal: info.signal, ...(info.spawnError ? { spawnError: info.spawnError } : {}) };
    if (!unhealthy) {
      this.transition('crashed', exit);
      this.audit('service.crashed', 'error', undefined, { ...exit, uptimeMs: now - proc.startedAt });
    }
    const next = afterExit(
      this.def.restart,
      { unhealthy, fatal: info.fatal === true, code: info.code, uptimeMs: now - proc.startedAt, failures: this.failures },
      info.spawnError ?? undefined,
    );
    if (next.action === 'stay-down') {
      if (unhealthy) this.transition('crashed', exit);
      return;
    }
    if (next.action === 'stopped') {
      this.transition('stopped', { reason: 'exited' });
      return;
    }
    this.failures = next.failures;
    if (next.action === 'fail') {
      this.fail(exit, next.why);
      return;
    }
    const { delayMs } = next;
    this.nextRestartAt = now + delayMs;
    this.transition('backoff', { delayMs, attempt: this.failures });
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      this.nextRestartAt = null;
      if (this.state !== 'backoff') return;
      this.restarts++;
      this.spawn('restart');
    }, delayMs);
    this.backoffTimer.unref();
  }

  private fail(exit: Record<string, unknown>, why: string): void {
    const logTail = this.logs.tail(20).map((l) => l.line);
    this.transition('failed', { ...exit, attempts: this.failures });
    this.ctx.log.error({ service: this.name, ...exit, attempts: this.failures }, `service ${this.name} failed: ${why}`);
    this.audit('service.failed', 'error', undefined, { ...exit, attempts: this.failures });
    this.ctx.publish({ type: 'service.failed', service: this.name, ...exit, attempts: this.failures, logTail });
  }

  private clearBackoff(): void {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.nextRestartAt = null;
  }

  /** Stops the service: SIGTERM to its process group, SIGKILL after the grace period. Idempotent. */
  stop(reason: StopReason, actor?: Actor): Promise<void> {
    if (this.stopping) return this.stopping;
    this.clearBackoff();
    this.prober.stop();
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    const proc = this.proc;
    // Stale display: a stopped service has no health to show.
    this.lastHealth = null;
    if (!proc) {
      if (this.state !== 'stopped') {
        this.transition('stopped', { reason });
        this.audit('service.stopped', 'ok', actor, { reason });
      }
      return Promise.resolve();
    }
    this.ending = 'stop';
    this.transition('stopping', { reason, pid: proc.pid, ...(proc instanceof RunningContainer && proc.id ? { container: proc.id.slice(0, 12) } : {}) });
    this.stopping = (async () => {
      const info = await proc.terminate(this.ctx.stopGraceMs);
      if (this.proc === proc) this.onExit(proc, info);
      this.ending = null;
      this.stopping = null;
      this.transition('stopped', { reason, exitCode: info.code, signal: info.signal });
      this.audit('service.stopped', 'ok', actor, { reason, pid: proc.pid, exitCode: info.code, signal: info.signal });
    })();
    return this.stopping;
  }

  async restart(actor?: Actor): Promise<void> {
    await this.stop('restart', actor);
    await this.start('operator', actor);
  }

  /**
   * Resolves once healthy, starting a stopped `command` or `container` service on demand; rejects with 503
   * service_unavailable (and Retry-After) when it is unhealthy, failed, or not healthy in time.
   */
  async ensureRunning(timeoutMs: number): Promise<void> {
    if (this.state === 'healthy') return;
    if (this.stopping) await this.stopping;
    const s = this.state as ServiceState;
    if (s === 'healthy') return;
    if (s === 'stopped' && this.def.kind !== 'url') await this.start('demand');
    else if (!ON_THE_WAY.has(s)) {
      throw this.unavailable(s);
    }
    if ((this.state as ServiceState) === 'healthy') return;
    await this.waiters.wait(timeoutMs, () =>
      this.unavailable(this.state, `service ${this.name} did not turn healthy within ${timeoutMs} ms (it is ${this.state})`),
    );
  }

  noteActivity(): void {
    this.lastActivity = this.ctx.now();
  }

  /** Marks a request in flight (idle stop waits for it); returns its release, safe to call twice. */
  track(): () => void {
    this.active++;
    this.lastActivity = this.ctx.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.lastActivity = this.ctx.now();
    };
  }

  private checkIdle(now: number): void {
    const after = this.def.idleStopAfterMs;
    if (after <= 0 || this.def.kind === 'url' || this.active > 0 || now - this.lastActivity < after) return;
    this.logs.note(`stopping: idle for ${now - this.lastActivity} ms`);
    void this.stop('idle');
  }
}
