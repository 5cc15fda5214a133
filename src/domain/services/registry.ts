/**
 * The service registry: the services declared in the config file plus those registered through the
 * API (persisted in the store), checked and held in memory for lookups on every proxied request.
 * Owns persistence of definitions only; starting and stopping is the supervisor's.
 */
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import type { ServiceStore } from '../../store/types.js';
import { checkService, toSpec, type ServiceDefinition, type ServiceSource, type ServiceSpec } from './spec.js';

export interface ServiceRecord {
  readonly def: ServiceDefinition;
  readonly source: ServiceSource;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string | null;
}

export interface ServiceRegistryOptions {
  store: ServiceStore;
  /** The `services` list of the configuration (already schema-checked). */
  declared: readonly ServiceSpec[];
  log: Logger;
  now?: () => number;
}

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

  /** Loads the declared services, then the stored ones; a stored name that the config also declares is shadowed. */
  start(): void {
    if (this.started) return;
    const at = this.now();
    for (const def of checkDeclaredServices(this.opts.declared)) {
      this.byName.set(def.name, { def, source: 'config', createdAt: at, updatedAt: at, createdBy: null });
    }
    for (const row of this.opts.store.list()) {
      if (this.byName.has(row.name)) {
        this.opts.log.warn({ service: row.name }, 'a service registered through the API has the name of one in the config file; the config file wins');
        continue;
      }
      let def: ServiceDefinition;
      try {
        def = checkService(row.spec as ServiceSpec, 'api');
      } catch (err) {
        this.opts.log.warn({ service: row.name, err: (err as Error).message }, 'stored service definition no longer valid; skipped');
        continue;
      }
      this.byName.set(def.name, { def, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt, createdBy: row.createdBy });
    }
    this.started = true;
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
   * Replaces the config-file services (a live change of `services`): returns the names added,
   * removed and changed. An API service with a newly declared name is shadowed, as at boot.
   */
  setDeclared(defs: readonly ServiceDefinition[]): { added: string[]; removed: string[]; changed: string[] } {
    const at = this.now();
    const next = new Map(defs.map((d) => [d.name, d]));
    const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const [name, record] of [...this.byName]) {
      if (record.source === 'config' && !next.has(name)) {
        this.byName.delete(name);
        out.removed.push(name);
      }
    }
    for (const def of defs) {
      const prev = this.byName.get(def.name);
      if (prev?.source === 'config') {
        if (JSON.stringify(prev.def) !== JSON.stringify(def)) out.changed.push(def.name);
        this.byName.set(def.name, { ...prev, def, updatedAt: at });
      } else {
        if (prev) this.opts.log.warn({ service: def.name }, 'a service registered through the API has the name of one in the config file; the config file wins');
        if (prev) out.changed.push(def.name);
        else out.added.push(def.name);
        this.byName.set(def.name, { def, source: 'config', createdAt: at, updatedAt: at, createdBy: null });
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
    const record: ServiceRecord = { def, source: 'api', createdAt: at, updatedAt: at, createdBy };
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

  /** The record if the API may change it: 404 when unknown, 409 service_readonly when declared in the config. */
  writable(name: string): ServiceRecord {
    const r = this.require(name);
    if (r.source === 'config') throw new GatewayError('service_readonly', `${JSON.stringify(name)} is declared in the config file; change it there`);
    return r;
  }
}
