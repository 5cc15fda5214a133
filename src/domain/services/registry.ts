/**
 * The service registry: the services declared in the config file, those added by live config
 * (PATCH /api/v1/config, kept in config.runtime.json) and those registered through the API
 * (persisted in the store), checked and held in memory for lookups on every proxied request, with
 * the headers moat adds upstream for each. Config-file services are read-only here. Owns
 * definitions only; starting and stopping is the supervisor's.
 */
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import type { ServiceStore } from '../../store/types.js';
import { checkApiService, type ApiRules } from './api-rules.js';
import { checkService, toSpec, type ServiceDefinition, type ServiceSource, type ServiceSpec } from './spec.js';
import { loadUpstreamHeaders, UpstreamHeaders } from './upstream-headers.js';

export interface ServiceRecord {
  readonly def: ServiceDefinition;
  readonly source: ServiceSource;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string | null;
  /** The headers moat adds upstream (values read at boot; never shown). */
  readonly headers: UpstreamHeaders;
}

export interface ServiceRegistryOptions {
  store: ServiceStore;
  /** The `services` list of the configuration (already schema-checked): the config file's, then the live ones. */
  declared: readonly ServiceSpec[];
  /** Names in `declared` that came from the live overrides (config.runtime.json), not the config file. */
  runtimeNames?: ReadonlySet<string>;
  /** The API's rules, applied to live and stored services as they load. Default: url services only, admin targets. */
  rules?: ApiRules;
  /** Where `env` sources of upstreamHeaders are looked up (moat's environment). Default: none. */
  env?: Readonly<Record<string, string | undefined>>;
  log: Logger;
  now?: () => number;
}

const NO_RULES: ApiRules = { allowApiCommands: false, targets: [] };

/** Checks the config file's services (names unique, targets allowed); throws config_invalid. */
export function checkDeclaredServices(declared: readonly ServiceSpec[]): ServiceDefinition[] {
  const seen = new Set<string>();
  return declared.map((spec) => {
    const def = checkService(spec, 'config');
    if (seen.has(def.name)) throw new GatewayError('config_invalid', `services: ${JSON.stringify(def.name)} is declared twice`);
    seen.add(def.name);
    return def;
  });
}

export class ServiceRegistry {
  private readonly byName = new Map<string, ServiceRecord>();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly opts: ServiceRegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Loads the config file's services (their upstream headers read now: a missing or open key file
   * refuses the boot), then the live ones and the stored ones under the API's rules (one that breaks
   * them, say a command service stored while allowApiCommands was on, is skipped with a warning).
   * A stored name that the configuration also declares is shadowed.
   */
  start(): void {
    if (this.started) return;
    const at = this.now();
    const runtime = this.opts.runtimeNames ?? new Set<string>();
    for (const def of checkDeclaredServices(this.opts.declared)) {
      if (runtime.has(def.name)) continue;
      const headers = loadUpstreamHeaders(def.name, def.upstreamHeaders, this.opts.env ?? {});
      this.byName.set(def.name, { def, source: 'config', createdAt: at, updatedAt: at, createdBy: null, headers });
    }
    for (const spec of this.opts.declared) {
      if (!runtime.has(spec.name)) continue;
      const def = this.underApiRules(spec, 'a live service (config.runtime.json)');
      if (def) this.byName.set(def.name, { def, source: 'runtime', createdAt: at, updatedAt: at, createdBy: null, headers: UpstreamHeaders.none });
    }
    for (const row of this.opts.store.list()) {
      if (this.byName.has(row.name)) {
        this.opts.log.warn({ service: row.name }, 'a service registered through the API has the name of one in the config file; the config file wins');
        continue;
      }
      const def = this.underApiRules(row.spec as ServiceSpec, 'a stored service');
      if (def)
        this.byName.set(def.name, {
          def,
          source: 'api',
          createdAt: row.createdAt,
          updatedAt: row.updatedAt,
          createdBy: row.createdBy,
          headers: UpstreamHeaders.none,
        });
    }
    this.started = true;
  }

  /** A live or stored service checked as it was when it came in (by admin: its target then was allowed). */
  private underApiRules(spec: ServiceSpec, what: string): ServiceDefinition | null {
    try {
      return checkApiService(spec, { admin: true }, this.opts.rules ?? NO_RULES);
    } catch (err) {
      this.opts.log.warn(
        { service: spec.name, code: (err as { code?: string }).code, err: (err as { detail?: string }).detail ?? (err as Error).message },
        `${what} breaks the API's rules now; skipped`,
      );
      return null;
    }
  }

  /** Whether `name` is declared in the operator's config file (read-only everywhere). */
  isOperatorService(name: string): boolean {
    return this.byName.get(name)?.source === 'config';
  }

  get(name: string): ServiceRecord | undefined {
    return this.byName.get(name);
  }

  /** The record, or 404 service_not_found. */
  require(name: string): ServiceRecord {
    const r = this.byName.get(name);
    if (!r) throw new GatewayError('service_not_found', `no service named ${JSON.stringify(name)}`);
    return r;
  }

  list(): ServiceRecord[] {
    return [...this.byName.values()].sort((a, b) => (a.def.name < b.def.name ? -1 : 1));
  }

  /**
   * Replaces the live services (a live change of `services`; the config file's are never touched):
   * returns the names added, removed and changed. The caller has refused names that the config file
   * or the API holds (see Supervisor.checkRuntime).
   */
  setRuntime(defs: readonly ServiceDefinition[]): { added: string[]; removed: string[]; changed: string[] } {
    const at = this.now();
    const next = new Map(defs.map((d) => [d.name, d]));
    const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const [name, record] of [...this.byName]) {
      if (record.source === 'runtime' && !next.has(name)) {
        this.byName.delete(name);
        out.removed.push(name);
      }
    }
    for (const def of defs) {
      const prev = this.byName.get(def.name);
      if (prev !== undefined && prev.source !== 'runtime') continue;
      if (prev) {
        if (JSON.stringify(prev.def) !== JSON.stringify(def)) out.changed.push(def.name);
        this.byName.set(def.name, { ...prev, def, updatedAt: at });
      } else {
        out.added.push(def.name);
        this.byName.set(def.name, { def, source: 'runtime', createdAt: at, updatedAt: at, createdBy: null, headers: UpstreamHeaders.none });
      }
    }
    return out;
  }

  /** Persists a new API service; 409 service_exists when the name is taken. */
  add(def: ServiceDefinition, createdBy: string | null): ServiceRecord {
    if (this.byName.has(def.name) || !this.opts.store.insert({ name: def.name, spec: toSpec(def), createdAt: this.now(), updatedAt: this.now(), createdBy })) {
      throw new GatewayError('service_exists', `a service named ${JSON.stringify(def.name)} is already registered`);
    }
    const at = this.now();
    const record: ServiceRecord = { def, source: 'api', createdAt: at, updatedAt: at, createdBy, headers: UpstreamHeaders.none };
    this.byName.set(def.name, record);
    return record;
  }

  /** Replaces an API service's definition. Config-file services are changed in the config file. */
  replace(def: ServiceDefinition): ServiceRecord {
    const prev = this.writable(def.name);
    const at = this.now();
    this.opts.store.update(def.name, toSpec(def), at);
    const record: ServiceRecord = { ...prev, def, updatedAt: at };
    this.byName.set(def.name, record);
    return record;
  }

  remove(name: string): void {
    this.writable(name);
    this.opts.store.delete(name);
    this.byName.delete(name);
  }

  /** The record if the API may change it: 404 when unknown, 409 service_readonly when declared in the config or live config. */
  writable(name: string): ServiceRecord {
    const r = this.require(name);
    if (r.source === 'config') throw new GatewayError('service_readonly', `${JSON.stringify(name)} is declared in the config file; change it there`);
    if (r.source === 'runtime')
      throw new GatewayError(
        'service_readonly',
        `${JSON.stringify(name)} is declared in the live configuration; change it with PATCH /api/v1/config (moat config set services)`,
      );
    return r;
  }
}
