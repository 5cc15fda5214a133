/**
 * The supervisor: one state machine (unit.ts) per registered service, the sweep of orphans left by
 * a previous run (processes, and containers through the engine), registration through the API, and
 * the lifecycle: start() sweeps and starts what should run, stop() stops every child (SIGTERM, then
 * SIGKILL after the grace period). The entry point for everything that starts, stops or changes a
 * service, and for where a service is reached. Never sees a request.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditSink } from '../../audit/event.js';
import type { UpstreamClient } from '../../egress/upstream.js';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import { apiRules, checkApiService, type ApiCaller, type ApiRules } from '../services/api-rules.js';
import type { ServiceRegistry } from '../services/registry.js';
import { mergePatch, targetOf, toSpec, type ServiceDefinition, type ServiceSpec } from '../services/spec.js';
import { UpstreamHeaders } from '../services/upstream-headers.js';
import { ContainerHost, type EngineFacts } from './containers.js';
import { LogCapture, type LogLine } from './log-capture.js';
import { RunFile, sweepOrphans } from './orphans.js';
import { statusOf, type ServiceState, type ServiceStatus } from './status.js';
import { ServiceUnit, type ServiceEvent } from './unit.js';
import type { Actor } from '../../api/actor.js';
import { dataDirPaths } from '../../api/data-dir.js';

export interface SupervisorOptions {
  registry: ServiceRegistry;
  upstream: UpstreamClient;
  audit: AuditSink;
  log: Logger;
  dataDir: string;
  stopGraceMs: number;
  logLines: number;
  logFileBytes: number;
  logFiles: number;
  /** Whether POST/PATCH may register `command` services (supervisor.allowApiCommands). */
  allowApiCommands: boolean;
  /** The API's rules compiled from allowApiCommands and supervisor.apiTargets (the registry's too). Default: from allowApiCommands, no targets. */
  rules?: ApiRules;
  /** supervisor.containers: the engine of `container` services. */
  containers: { socket: string };
  now?: () => number;
  /** Called on every state change (`service.state`) and failure (`service.failed`). Default: nothing. */
  publish?: (event: ServiceEvent) => void;
}

/** Keys whose change needs a new process. */
const PROCESS_KEYS = ['kind', 'command', 'container', 'env', 'cwd', 'baseUrl'] as const;

export class Supervisor {
  private readonly units = new Map<string, ServiceUnit>();
  private readonly now: () => number;
  private readonly runFile: RunFile;
  private readonly rules: ApiRules;
  private readonly containers: ContainerHost;
  private lifecycle: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: SupervisorOptions) {
    this.now = opts.now ?? Date.now;
    this.runFile = new RunFile(join(opts.dataDir, 'run'));
    this.rules = opts.rules ?? apiRules({ allowApiCommands: opts.allowApiCommands, apiTargets: [] });
    this.containers = new ContainerHost({ socket: opts.containers.socket, dataDir: opts.dataDir, log: opts.log });
  }

  get registry(): ServiceRegistry {
    return this.opts.registry;
  }

  /** Lifecycle: sweeps orphans of a previous run, then starts what should run. With a name: starts that service. */
  start(): Promise<void>;
  start(name: string, actor?: Actor): Promise<ServiceStatus>;
  // biome-ignore lint/suspicious/noConfusingVoidType: the one implementation of the two overloads above
  async start(name?: string, actor?: Actor): Promise<void | ServiceStatus> {
    if (name !== undefined) {
      const unit = this.unit(name);
      await unit.start('operator', actor);
      return this.status(name);
    }
    if (this.lifecycle !== 'new') return;
    this.lifecycle = 'starting';
    this.opts.registry.start();
    const swept = await sweepOrphans(this.runFile.read(), { graceMs: this.opts.stopGraceMs, log: this.opts.log });
    for (const s of swept) this.opts.audit.record({ type: 'service.orphan_stopped', outcome: 'ok', detail: { service: s.name, pid: s.pid } });
    this.runFile.reset();
    await this.sweepContainers();
    for (const record of this.opts.registry.list()) this.addUnit(record.def);
    this.lifecycle = 'started';
    for (const unit of this.units.values())
      if (unit.def.autoStart) void unit.start('boot').catch((err) => this.opts.log.error({ err, service: unit.name }, 'start failed'));
  }

  /** Lifecycle: stops every service (SIGTERM, then SIGKILL after the grace period). Idempotent. With a name: stops that service. */
  stop(): Promise<void>;
  stop(name: string, actor?: Actor): Promise<ServiceStatus>;
  // biome-ignore lint/suspicious/noConfusingVoidType: the one implementation of the two overloads above
  async stop(name?: string, actor?: Actor): Promise<void | ServiceStatus> {
    if (name !== undefined) {
      await this.unit(name).stop('operator', actor);
      return this.status(name);
    }
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.lifecycle = 'stopping';
      const units = [...this.units.values()];
      await Promise.all(units.map((u) => u.stop('shutdown').catch((err) => this.opts.log.error({ err, service: u.name }, 'stop failed'))));
      await Promise.all(units.map((u) => u.logs.close()));
      await this.containers.close();
      this.lifecycle = 'stopped';
    })();
    return this.stopping;
  }

  async restart(name: string, actor?: Actor): Promise<ServiceStatus> {
    await this.unit(name).restart(actor);
    return this.status(name);
  }

  /**
   * Resolves once `name` is healthy, starting a stopped `command` service on demand. Rejects with
   * 404 service_not_found or 503 service_unavailable (with Retry-After): unhealthy, failed, or not
   * healthy within `timeoutMs` (default: the service's startTimeoutMs).
   */
  ensureRunning(name: string, timeoutMs?: number): Promise<void> {
    const unit = this.unit(name);
    if (unit.state === 'healthy') return Promise.resolve();
    if (this.lifecycle !== 'started')
      return Promise.reject(new GatewayError('service_unavailable', 'the gateway is shutting down', { headers: { 'retry-after': '5' } }));
    return unit.ensureRunning(timeoutMs ?? unit.def.startTimeoutMs);
  }

  /**
   * Where a request for `path` (starting with `/`) on `name` goes: the registry's baseUrl, or for a
   * container service the port the engine published on 127.0.0.1 for the container running now
   * (503 service_unavailable when none runs). Targets never come from a client.
   */
  target(name: string, path: string): { origin: string; path: string } {
    const def = this.opts.registry.require(name).def;
    if (def.kind !== 'container') return targetOf(def, path);
    const endpoint = this.units.get(name)?.endpoint ?? null;
    if (endpoint === null) throw new GatewayError('service_unavailable', `service ${name} is not running`, { headers: { 'retry-after': '5' } });
    return { origin: endpoint, path };
  }

  /** The container engine as `moat doctor` sees it; null when no container service is declared. */
  async engineFacts(): Promise<EngineFacts | null> {
    if (!this.opts.registry.list().some((r) => r.def.kind === 'container')) return null;
    return this.containers.facts();
  }

  /**
   * Removes the containers an earlier run of this install left (moat SIGKILLed: they keep running).
   * Only when this install has ever run containers (it has an install id) or declares one now.
   */
  private async sweepContainers(): Promise<void> {
    const declared = this.opts.registry.list().some((r) => r.def.kind === 'container');
    if (!declared && !existsSync(dataDirPaths(this.opts.dataDir).installId)) return;
    for (const c of await this.containers.sweep()) {
      this.opts.audit.record({ type: 'service.orphan_stopped', outcome: 'ok', detail: { service: c.service, container: c.id.slice(0, 12) } });
    }
  }

  /** A request or job used the service: its idle timer starts again. */
  noteActivity(name: string): void {
    this.units.get(name)?.noteActivity();
  }

  /** A request or job is in flight on the service (idle stop waits for it); call the result when done. */
  track(name: string): () => void {
    return this.unit(name).track();
  }

  state(name: string): ServiceState {
    return this.unit(name).state;
  }

  status(name: string): ServiceStatus {
    const unit = this.unit(name);
    return statusOf(unit.def, unit.snapshot(), this.now(), this.opts.registry.get(name)?.source ?? 'config');
  }

  list(): ServiceStatus[] {
    return this.opts.registry.list().flatMap((r) => (this.units.has(r.def.name) ? [this.status(r.def.name)] : []));
  }

  /** The newest `tail` captured lines of stdout/stderr (and moat's notes), after `after` if given. */
  logs(name: string, tail: number, after = 0): { lines: LogLine[]; lastSeq: number } {
    const unit = this.unit(name);
    return { lines: unit.logs.tail(tail, after), lastSeq: unit.logs.lastSeq };
  }

  /** Registers a service through the API (persisted); starts it when autoStart. `caller`: whether admin asks (any loopback target). */
  async register(spec: ServiceSpec, actor: Actor, caller: ApiCaller = { admin: false }): Promise<ServiceStatus> {
    const def = this.checkApi(spec, caller);
    this.opts.registry.add(def, actor.id);
    this.opts.audit.record({ type: 'service.registered', outcome: 'ok', actor, detail: { service: def.name, kind: def.kind, baseUrl: def.baseUrl } });
    const unit = this.addUnit(def);
    if (def.autoStart && this.lifecycle === 'started') await unit.start('operator', actor);
    return this.status(def.name);
  }

  /** Changes an API service; a change of program, environment or target restarts a running one. */
  async update(name: string, patch: Record<string, unknown>, actor: Actor, caller: ApiCaller = { admin: false }): Promise<ServiceStatus> {
    const record = this.opts.registry.writable(name);
    const def = this.checkApi(mergePatch(toSpec(record.def), { ...patch, name }), caller);
    const changed = changedKeys(record.def, def);
    this.opts.registry.replace(def);
    this.opts.audit.record({ type: 'service.updated', outcome: 'ok', actor, detail: { service: name, changed } });
    const unit = this.unit(name);
    const running = unit.state !== 'stopped' && unit.state !== 'failed' && unit.state !== 'crashed';
    if (running && changed.some((k) => (PROCESS_KEYS as readonly string[]).includes(k))) {
      await unit.stop('updated', actor);
      unit.def = def;
      await unit.start('operator', actor);
    } else {
      unit.def = def;
    }
    return this.status(name);
  }

  /**
   * The live services of a PATCH /api/v1/config (`services` minus the config file's, which are
   * read-only and stay as they are), checked by the same rules as POST /api/v1/services with the
   * admin's reach (the route is admin only). A name the API already holds is refused (409). Pure check.
   */
  checkRuntime(specs: readonly ServiceSpec[]): ServiceDefinition[] {
    return specs
      .filter((s) => !this.opts.registry.isOperatorService(s.name))
      .map((spec) => {
        const def = this.checkApi(spec, { admin: true });
        if (this.opts.registry.get(def.name)?.source === 'api') {
          throw new GatewayError(
            'service_exists',
            `a service named ${JSON.stringify(def.name)} is registered through /api/v1/services; change or delete it there`,
          );
        }
        return def;
      });
  }

  /**
   * A live change of `services` (after checkRuntime): new ones are added (and started when autoStart),
   * removed ones stopped and forgotten, changed ones take the new definition (restarted when their
   * program, environment or target changed). Config-file services are never touched. Runs in the
   * background; each step is audited.
   */
  async applyRuntime(defs: readonly ServiceDefinition[], actor: Actor): Promise<void> {
    const previous = new Map(this.opts.registry.list().map((r) => [r.def.name, r.def]));
    const { added, removed, changed } = this.opts.registry.setRuntime(defs);
    for (const name of removed) {
      const unit = this.units.get(name);
      if (!unit) continue;
      await unit.stop('removed', actor);
      await unit.logs.close();
      this.units.delete(name);
      this.opts.audit.record({ type: 'service.deleted', outcome: 'ok', actor, detail: { service: name, via: 'runtime' } });
    }
    for (const name of added) {
      const def = this.opts.registry.require(name).def;
      const unit = this.addUnit(def);
      this.opts.audit.record({
        type: 'service.registered',
        outcome: 'ok',
        actor,
        detail: { service: name, kind: def.kind, baseUrl: def.baseUrl, via: 'runtime' },
      });
      if (def.autoStart && this.lifecycle === 'started') await unit.start('operator', actor);
    }
    for (const name of changed) {
      const def = this.opts.registry.require(name).def;
      const unit = this.unit(name);
      const before = previous.get(name);
      const keys = before ? changedKeys(before, def) : [];
      const running = unit.state !== 'stopped' && unit.state !== 'failed' && unit.state !== 'crashed';
      this.opts.audit.record({ type: 'service.updated', outcome: 'ok', actor, detail: { service: name, changed: keys, via: 'runtime' } });
      if (running && keys.some((k) => (PROCESS_KEYS as readonly string[]).includes(k))) {
        await unit.stop('updated', actor);
        unit.def = def;
        await unit.start('operator', actor);
      } else {
        unit.def = def;
      }
    }
  }

  /** Stops and forgets an API service. */
  async remove(name: string, actor: Actor): Promise<void> {
    this.opts.registry.writable(name);
    const unit = this.unit(name);
    await unit.stop('removed', actor);
    await unit.logs.close();
    this.opts.registry.remove(name);
    this.units.delete(name);
    this.opts.audit.record({ type: 'service.deleted', outcome: 'ok', actor, detail: { service: name } });
    // Live events, and the job queue (whose queued jobs for this service can no longer run).
    this.opts.publish?.({ type: 'service.deleted', service: name });
  }

  /** The one check of a service that comes in through the API (api-rules.ts). */
  checkApi(spec: ServiceSpec, caller: ApiCaller): ServiceDefinition {
    return checkApiService(spec, caller, this.rules);
  }

  private unit(name: string): ServiceUnit {
    const unit = this.units.get(name);
    if (!unit) throw new GatewayError('service_not_found', `no service named ${JSON.stringify(name)}`);
    return unit;
  }

  private addUnit(def: ServiceDefinition): ServiceUnit {
    const publish = this.opts.publish;
    const logs = new LogCapture({
      dir: join(this.opts.dataDir, 'services', def.name),
      maxLines: this.opts.logLines,
      fileBytes: this.opts.logFileBytes,
      files: this.opts.logFiles,
      now: this.now,
    });
    const unit = new ServiceUnit(def, logs, {
      upstream: this.opts.upstream,
      audit: this.opts.audit,
      log: this.opts.log,
      runFile: this.runFile,
      containers: this.containers,
      stopGraceMs: this.opts.stopGraceMs,
      now: this.now,
      headersOf: (name) => this.opts.registry.get(name)?.headers ?? UpstreamHeaders.none,
      publish: (e) => {
        try {
          publish?.(e);
        } catch (err) {
          this.opts.log.warn({ err }, 'service event listener failed');
        }
      },
    });
    this.units.set(def.name, unit);
    return unit;
  }
}

function changedKeys(a: ServiceDefinition, b: ServiceDefinition): string[] {
  return (Object.keys(b) as Array<keyof ServiceDefinition>).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
