/**
 * The view of a service that the API and the CLI show: its definition (env values never, only
 * their names: they may hold API keys) and its live state. Plain data; no I/O.
 */
import type { ServiceDefinition, ServiceSource } from '../services/spec.js';
import type { ProbeResult } from '../../egress/upstream.js';
import { GatewayError } from '../../errors.js';
import type { ExitInfo } from './process-runner.js';

export type ServiceState = 'stopped' | 'starting' | 'healthy' | 'unhealthy' | 'stopping' | 'crashed' | 'backoff' | 'failed';

export const SERVICE_STATES: readonly ServiceState[] = ['stopped', 'starting', 'healthy', 'unhealthy', 'stopping', 'crashed', 'backoff', 'failed'];

export interface UnitSnapshot {
  state: ServiceState;
  pid: number | null;
  /** The engine's id of a container service's container, once created. */
  containerId: string | null;
  /** http://127.0.0.1:<published port> of a running container service. */
  endpoint: string | null;
  startedAt: number | null;
  restarts: number;
  failures: number;
  lastExit: (ExitInfo & { at: number }) | null;
  lastHealth: (ProbeResult & { at: number }) | null;
  nextRestartAt: number | null;
  active: number;
}

export interface ServiceStatus {
  name: string;
  kind: 'command' | 'url' | 'container';
  source: ServiceSource;
  state: ServiceState;
  baseUrl: string;
  tags: string[];
  concurrency: number;
  pid: number | null;
  startedAt: string | null;
  uptimeSeconds: number | null;
  restarts: number;
  failuresInARow: number;
  nextRestartAt: string | null;
  activeRequests: number;
  lastExit: { code: number | null; signal: string | null; error: string | null; at: string } | null;
  lastHealth: { ok: boolean; status: number | null; error: string | null; ms: number; at: string } | null;
  command: string[] | null;
  cwd: string | null;
  /** The image of a container service. */
  image: string | null;
  /** Its container's id while one exists (12 characters, as `docker ps` shows it). */
  containerId: string | null;
  /** Names of the extra environment variables; their values are never shown. */
  envKeys: string[];
  /** Names of the headers moat adds upstream (values are never shown). */
  upstreamHeaders: string[];
  allowNonLoopback: boolean;
  health: ServiceDefinition['health'];
  restart: ServiceDefinition['restart'];
  startTimeoutMs: number;
  /** Seconds without requests or jobs before a `command` or `container` service is stopped; 0 = never (the config key). */
  idleStopAfter: number;
  autoStart: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function statusOf(def: ServiceDefinition, s: UnitSnapshot, now: number, source: ServiceSource = 'config'): ServiceStatus {
  const running = (s.pid !== null || s.containerId !== null) && s.startedAt !== null;
  return {
    name: def.name,
    kind: def.kind,
    source,
    state: s.state,
    // A container service is reached on the port the engine published for this run.
    baseUrl: s.endpoint ?? def.baseUrl,
    tags: [...def.tags],
    concurrency: def.concurrency,
    pid: s.pid,
    startedAt: running ? iso(s.startedAt) : null,
    uptimeSeconds: running ? Math.max(0, Math.round((now - (s.startedAt as number)) / 1000)) : null,
    restarts: s.restarts,
    failuresInARow: s.failures,
    nextRestartAt: iso(s.nextRestartAt),
    activeRequests: s.active,
    lastExit: s.lastExit ? { code: s.lastExit.code, signal: s.lastExit.signal, error: s.lastExit.spawnError, at: new Date(s.lastExit.at).toISOString() } : null,
    lastHealth: s.lastHealth
      ? { ok: s.lastHealth.ok, status: s.lastHealth.status, error: s.lastHealth.error, ms: s.lastHealth.ms, at: new Date(s.lastHealth.at).toISOString() }
      : null,
    command: def.command ? [...def.command] : null,
    cwd: def.cwd,
    image: def.container?.image ?? null,
    containerId: s.containerId?.slice(0, 12) ?? null,
    envKeys: Object.keys(def.env).sort(),
    upstreamHeaders: Object.keys(def.upstreamHeaders).sort(),
    allowNonLoopback: def.allowNonLoopback,
    health: { ...def.health },
    restart: { ...def.restart },
    startTimeoutMs: def.startTimeoutMs,
    idleStopAfter: def.idleStopAfterMs / 1000,
    autoStart: def.autoStart,
  };
}

/**
 * The view for a token that may read services but not manage them (`read`): the last probe says
 * only whether it was healthy and when. Its status and error would make the probe a port scanner's
 * answer (a probe of a port that is closed, open, or answering 401 reads differently).
 */
export function withoutProbeDetail(s: ServiceStatus): ServiceStatus {
  return s.lastHealth === null ? s : { ...s, lastHealth: { ...s.lastHealth, status: null, error: null } };
}

/**
 * 503 service_unavailable saying why: the state, the last probe's status or error and when it ran,
 * and for a process that died its last exit. The caller holds the service's svc: scope (or jobs on
 * it): the target is the operator's, so this is no port scan.
 */
export function unavailableError(
  name: string,
  state: ServiceState,
  seen: Pick<UnitSnapshot, 'lastHealth' | 'lastExit'> & { retryAfter: string },
  lead = `service ${name} is ${state}`,
): GatewayError {
  const h = seen.lastHealth;
  const probe = h ? { ok: h.ok, status: h.status, error: h.error, at: new Date(h.at).toISOString() } : null;
  let why = probe
    ? `; last probe at ${probe.at}: ${probe.ok ? `ok (status ${probe.status})` : (probe.error ?? 'failed')}`
    : '; no probe has run since it was started';
  const exit = seen.lastExit;
  if ((state === 'failed' || state === 'crashed' || state === 'backoff') && exit) {
    why += `; last exit at ${new Date(exit.at).toISOString()}: ${exit.spawnError ?? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`)}`;
  }
  if (state === 'stopped') why = `; start it with moat service start ${name}`;
  return new GatewayError('service_unavailable', `${lead}${why}`, { headers: { 'retry-after': seen.retryAfter }, extra: { state, lastProbe: probe } });
}
