/**
 * How the live overrides (config.runtime.json, written by PATCH /api/v1/config) lay over what the
 * operator declared in the config file, env and flags: `services` adds to the operator's list and
 * never removes or replaces one of its entries (config-file services are read-only everywhere);
 * any other key the overrides set is named, so that the boot can say what the file no longer decides.
 * Pure functions over plain objects.
 */
import { Value } from '@sinclair/typebox/value';
import { ServiceConfigSchema } from './sections/services.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Canonical JSON: object keys sorted, so that two equal services compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Whether two service entries say the same once defaults are filled (a client may send back what GET showed). */
export function sameService(a: unknown, b: unknown): boolean {
  const fill = (s: unknown) => canonical(Value.Default(ServiceConfigSchema, structuredClone(s)));
  return fill(a) === fill(b);
}

export interface ServiceOverlay {
  /** The operator's services, in their order, then the live ones. */
  services: unknown[];
  /** Names of the live entries, in the merged list. */
  runtime: string[];
  /** Live entries that name an operator's service and say something else: ignored (the operator's wins). */
  shadowed: string[];
}

/**
 * The operator's services plus the live ones. A live entry with the name of an operator's service is
 * dropped: silently when it says the same (a list sent back whole), as `shadowed` when it differs.
 */
export function overlayServices(operator: readonly unknown[], live: readonly unknown[]): ServiceOverlay {
  const byName = new Map<string, unknown>();
  for (const s of operator) if (isObj(s) && typeof s['name'] === 'string') byName.set(s['name'], s);
  const out: ServiceOverlay = { services: [...operator], runtime: [], shadowed: [] };
  for (const s of live) {
    const name = isObj(s) && typeof s['name'] === 'string' ? s['name'] : null;
    const theirs = name === null ? undefined : byName.get(name);
    if (theirs === undefined) {
      out.services.push(s);
      if (name !== null) out.runtime.push(name);
    } else if (!sameService(s, theirs)) {
      out.shadowed.push(name as string);
    }
  }
  return out;
}

/** Leaf paths of `layer` that an earlier, operator layer (file, env, flags) had set: the overrides shadow them. */
export function shadowedPaths(paths: readonly string[], sourceOf: (path: string) => string | undefined): Array<{ path: string; source: string }> {
  const out: Array<{ path: string; source: string }> = [];
  for (const path of paths) {
    if (path === 'services') continue;
    const source = sourceOf(path);
    if (source !== undefined && source !== 'default') out.push({ path, source });
  }
  return out;
}
