/**
 * What a service is, once checked: defaults filled, the per-kind rules applied and the baseUrl held
 * to loopback unless the operator's config file widened it. Pure functions; no I/O.
 */
import { Value } from '@sinclair/typebox/value';
import ipaddr from 'ipaddr.js';
import { ServiceConfigSchema, type ServiceSpec } from '../../config/sections/services.js';
import { GatewayError } from '../../errors.js';
import { checkHeaderSources, type HeaderSource } from './upstream-headers.js';
import { CONTAINER_ONLY_KEYS, checkContainer, containerToSpec, type ContainerDefinition } from './container-spec.js';

export type { ServiceSpec };
export type ServiceKind = 'command' | 'url' | 'container';
export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface HealthSpec {
  /** null: `GET /` (below the baseUrl's path), any status below 500 is healthy. */
  path: string | null;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface RestartSpec {
  policy: RestartPolicy;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  resetAfterMs: number;
}

/** A checked service definition: every key present. */
export interface ServiceDefinition {
  name: string;
  kind: ServiceKind;
  command: string[] | null;
  /** The image and how it runs (kind `container` only). */
  container: ContainerDefinition | null;
  env: Record<string, string>;
  cwd: string | null;
  /**
   * Normalised: scheme://host[:port][/path], no trailing slash. A container service's is
   * http://127.0.0.1:<port inside>; where it is reached is the port the engine published (Supervisor.target).
   */
  baseUrl: string;
  allowNonLoopback: boolean;
  /** Sources of the headers moat adds upstream, by lower-case name (config file only; values are read at boot). */
  upstreamHeaders: Record<string, HeaderSource>;
  health: HealthSpec;
  restart: RestartSpec;
  startTimeoutMs: number;
  idleStopAfterMs: number;
  concurrency: number;
  jobs: JobPaths;
  tags: string[];
  autoStart: boolean;
}

/** Where jobs go on the service; `{id}` in a path stands for the job id. */
export interface JobPaths {
  path: string;
  progressPath: string;
  cancelPath: string;
}

/** Where a definition came from: the operator's config file, live config (PATCH /api/v1/config), or POST /api/v1/services. */
export type ServiceSource = 'config' | 'runtime' | 'api';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Whether a URL hostname (as `new URL()` spells it) is a loopback address or `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (!ipaddr.isValid(bare)) return false;
  let addr = ipaddr.parse(bare);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return addr.range() === 'loopback';
}

/**
 * Checks a baseUrl and returns it normalised. SSRF through the registry: a service is a door into
 * wherever its baseUrl points, so only loopback is allowed unless the operator opted in for it.
 */
export function checkBaseUrl(raw: string, allowNonLoopback: boolean, refuse: (why: string) => never): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse(`baseUrl ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse(`baseUrl must be http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username !== '' || url.password !== '') refuse('baseUrl must not carry credentials (they would end up in logs)');
  if (url.search !== '' || url.hash !== '') refuse('baseUrl must not have a query or a fragment');
  if (!allowNonLoopback && !isLoopbackHost(url.hostname)) {
    refuse(`baseUrl ${url.host} is not a loopback address; only the config file can allow another target (allowNonLoopback)`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Where a request for `path` (starting with `/`, query included) goes: the baseUrl's origin, and
 * its path prefix followed by `path`. For the proxy and for job dispatch alike.
 */
export function targetOf(def: ServiceDefinition, path: string): { origin: string; path: string } {
  const base = def.baseUrl;
  const slash = base.indexOf('/', base.indexOf('//') + 2);
  return slash < 0 ? { origin: base, path } : { origin: base.slice(0, slash), path: `${base.slice(slash)}${path}` };
}

/** The port a `command` service is told to listen on (PORT), when the baseUrl names one. */
export function listenPort(def: ServiceDefinition): string | null {
  const port = new URL(def.baseUrl).port;
  return port === '' ? null : port;
}

/**
 * Fills defaults and applies the rules the schema cannot say. `where` decides the error codes:
 * `config` refuses the boot (config_invalid), `api` answers the request.
 */
export function checkService(input: ServiceSpec, where: 'config' | 'api'): ServiceDefinition {
  const label = `services: ${JSON.stringify(input.name)}`;
  const invalid = (why: string): never => {
    throw new GatewayError(where === 'config' ? 'config_invalid' : 'validation_failed', `${label}: ${why}`);
  };
  const refuseTarget = (why: string): never => {
    throw new GatewayError(where === 'config' ? 'config_invalid' : 'service_target_refused', `${label}: ${why}`);
  };
  const spec = Value.Default(ServiceConfigSchema, structuredClone(input)) as Required<ServiceSpec>;
  if (!Value.Check(ServiceConfigSchema, spec)) {
    const first = [...Value.Errors(ServiceConfigSchema, spec)][0];
    invalid(`${first?.path ?? ''} ${first?.message ?? 'invalid'}`.trim());
  }
  if (!NAME.test(spec.name)) invalid('name must be 1-63 lowercase letters, digits and dashes');
  if (where === 'api' && spec.allowNonLoopback) invalid('allowNonLoopback can only be set in the config file');
  // A file-read primitive: a token naming a file (or a variable of moat's environment) whose content
  // moat then sends to a service it chose, which may echo it back. The operator's file only.
  if (where === 'api' && spec.upstreamHeaders !== undefined && Object.keys(spec.upstreamHeaders).length > 0) {
    invalid("upstreamHeaders can only be set in the config file (a value read from a file or the environment is the operator's to choose)");
  }
  // The engine's socket is root-equivalent: whoever declares a container chooses its mounts and
  // devices. Never through the API, whatever supervisor.allowApiCommands says.
  if (spec.kind === 'container' && where === 'api') {
    throw new GatewayError('service_container_refused', `${label}: container services are declared in the config file only`);
  }
  if (spec.kind !== 'container') {
    const stray = CONTAINER_ONLY_KEYS.find((k) => spec[k] !== undefined);
    if (stray !== undefined) invalid(`\`${stray}\` applies to container services only (kind "container")`);
  }
  if (spec.kind === 'container') {
    if (spec.command !== undefined || spec.cwd !== undefined) invalid('a container service has no `command` or `cwd` (use `image`, `entrypoint` and `args`)');
    if (spec.baseUrl !== undefined || spec.allowNonLoopback) invalid('a container service has no `baseUrl`: moat publishes its `port` on 127.0.0.1');
  } else if (spec.baseUrl === undefined) {
    invalid('a command or url service needs `baseUrl`');
  }
  const container = spec.kind === 'container' ? checkContainer(spec, invalid) : null;
  if (spec.kind === 'command') {
    if (!spec.command || spec.command.length === 0) invalid('a command service needs `command` (an argv list)');
  } else if (spec.kind === 'url') {
    if (spec.command !== undefined) invalid('a url service has no `command` (use kind "command")');
    if (spec.env !== undefined || spec.cwd !== undefined) invalid('`env` and `cwd` apply to command services only');
  }
  const baseUrl = container ? `http://127.0.0.1:${container.port}` : checkBaseUrl(spec.baseUrl as string, spec.allowNonLoopback === true, refuseTarget);
  const health = spec.health as HealthSpec;
  const restart = spec.restart as RestartSpec;
  if (restart.initialDelayMs > restart.maxDelayMs) invalid('restart.initialDelayMs must not exceed restart.maxDelayMs');
  return {
    name: spec.name,
    kind: spec.kind,
    command: spec.kind === 'command' ? [...(spec.command as string[])] : null,
    container,
    env: { ...(spec.env ?? {}) },
    cwd: spec.cwd ?? null,
    baseUrl,
    allowNonLoopback: spec.allowNonLoopback === true,
    upstreamHeaders: checkHeaderSources(spec.upstreamHeaders, invalid),
    health: { ...health, path: health.path ?? null },
    restart: { ...restart },
    startTimeoutMs: spec.startTimeoutMs as number,
    idleStopAfterMs: Math.round((spec.idleStopAfter as number) * 1000),
    concurrency: spec.concurrency as number,
    jobs: { ...(spec.jobs as JobPaths) },
    tags: [...(spec.tags as string[])],
    autoStart: spec.autoStart as boolean,
  };
}

/** The definition back as a spec (what the database stores and PATCH merges onto). */
export function toSpec(def: ServiceDefinition): ServiceSpec {
  const spec: ServiceSpec = {
    name: def.name,
    kind: def.kind,
    baseUrl: def.baseUrl,
    health: healthSpec(def.health),
    restart: { ...def.restart },
    startTimeoutMs: def.startTimeoutMs,
    idleStopAfter: def.idleStopAfterMs / 1000,
    concurrency: def.concurrency,
    jobs: { ...def.jobs },
    tags: [...def.tags],
    autoStart: def.autoStart,
  };
  if (def.command) spec.command = [...def.command];
  if (def.kind !== 'url' && Object.keys(def.env).length > 0) spec.env = { ...def.env };
  if (def.container) {
    delete spec.baseUrl;
    Object.assign(spec, containerToSpec(def.container));
  }
  if (def.cwd !== null) spec.cwd = def.cwd;
  if (def.allowNonLoopback) spec.allowNonLoopback = true;
  if (Object.keys(def.upstreamHeaders).length > 0) spec.upstreamHeaders = structuredClone(def.upstreamHeaders);
  return spec;
}

/** The health section as a spec: no `path` key when the default probe (`GET /`, below 500) is used. */
function healthSpec(h: HealthSpec): NonNullable<ServiceSpec['health']> {
  const { path, ...rest } = h;
  return path === null ? rest : { path, ...rest };
}

/** A PATCH merged onto a spec: top-level keys replace, `health`, `restart` and `env` merge key by key. */
export function mergePatch(base: ServiceSpec, patch: Record<string, unknown>): ServiceSpec {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] =
      (key === 'health' || key === 'restart' || key === 'env' || key === 'jobs') && typeof prev === 'object' && prev !== null
        ? { ...(prev as Record<string, unknown>), ...(value as Record<string, unknown>) }
        : value;
  }
  return out as unknown as ServiceSpec;
}

/** Backoff before restart number `failures` (1-based): initial * 2^(n-1), capped. */
export function backoffDelay(restart: RestartSpec, failures: number): number {
  const exp = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(restart.initialDelayMs * 2 ** exp, restart.maxDelayMs);
}
