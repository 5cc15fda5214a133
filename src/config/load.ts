/**
 * Loads the configuration: defaults < file < env < flags (< runtime overrides), validated against
 * the strict schema, with the source of every value kept. Refusals name the key and its source.
 * Reads files and the given env only; never the network.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { GatewayError } from '../errors.js';
import { listKnobs, type KnobInfo } from './knob.js';
import { ConfigSchema, type Config } from './schema.js';
import { suggest } from './suggest.js';
import { overlayServices, shadowedPaths } from './runtime-services.js';
import { checkConfig } from './validate.js';

export type ConfigSource = 'default' | 'file' | 'env' | 'flag' | 'runtime';

export interface ConfigInput {
  /** Path of a JSON config file. */
  file?: string;
  /** Programmatic options shaped like the file (library use); they rank with flags. */
  values?: unknown;
  /** Environment to read MOAT_* from. Library default: none (process.env is not read implicitly). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Parsed `moat serve` flags keyed by flag name (`public-name`, `no-tls` as `tls: false`). */
  flags?: Readonly<Record<string, unknown>>;
  /** Live overrides from <dataDir>/config.runtime.json, applied last. */
  runtime?: unknown;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** Where each knob's value came from, by dotted path. */
  sources: ReadonlyMap<string, ConfigSource>;
  /** Non-fatal findings (e.g. an unknown MOAT_* variable, a live override shadowing the config file). */
  warnings: readonly string[];
  /** Live service entries ignored because the operator declares a service of that name (a PATCH is refused for it). */
  shadowedServices: readonly string[];
}

export const KNOBS: readonly KnobInfo[] = listKnobs(ConfigSchema);
const KNOB_BY_ENV = new Map(KNOBS.filter((k) => k.schema.env).map((k) => [k.schema.env as string, k]));
const KNOB_BY_FLAG = new Map(KNOBS.filter((k) => k.schema.flag).map((k) => [k.schema.flag as string, k]));

/** Env names that are not knobs but are read by the CLI client (MOAT_TOKEN is the CLI's bearer token, never the server's). */
const CLIENT_ENV = new Set(['MOAT_GATEWAY', 'MOAT_CONFIG', 'MOAT_TOKEN']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function loadConfig(input: ConfigInput): LoadedConfig {
  const warnings: string[] = [];
  const sources = new Map<string, ConfigSource>();
  const layers: Array<[ConfigSource, Obj, string]> = [];

  if (input.file !== undefined) layers.push(['file', readConfigFile(input.file), `config file ${input.file}`]);
  if (input.env) layers.push(['env', fromEnv(input.env, warnings), 'environment']);
  if (input.values !== undefined) {
    if (!isObj(input.values)) throw new GatewayError('config_invalid', 'config options must be an object');
    layers.push(['flag', structuredClone(input.values), 'options']);
  }
  if (input.flags) layers.push(['flag', fromFlags(input.flags), 'flags']);
  if (input.runtime !== undefined && isObj(input.runtime)) layers.push(['runtime', input.runtime, 'runtime overrides']);

  // Each layer is checked alone so that an error names where the bad value came from.
  for (const [, layer, origin] of layers) assertValid(layer, origin);

  let merged: Obj = {};
  const shadowedServices: string[] = [];
  for (const [source, given] of layers) {
    const layer = source === 'runtime' ? overlayRuntime(merged, given, sources, warnings, shadowedServices) : given;
    merged = mergeLayer(merged, layer);
    for (const path of leafPaths(layer)) sources.set(path, source);
  }
  if (Array.isArray(merged['services'])) {
    for (const s of merged['services'] as Obj[])
      if (!sources.has(`services.${String(s['name'])}`)) sources.set(`services.${String(s['name'])}`, sources.get('services') ?? 'default');
  }
  assertValid(merged, 'configuration', true);
  const config = merged as Config;
  for (const k of KNOBS) if (!sources.has(k.path)) sources.set(k.path, 'default');

  config.dataDir = expandHome(config.dataDir);
  return { config: deepFreeze(config), sources, warnings, shadowedServices };
}

/**
 * The live overrides as they apply: their `services` join the operator's (never replacing or removing
 * one: config-file services are read-only), and every operator value they shadow is said in a warning.
 */
function overlayRuntime(merged: Obj, layer: Obj, sources: Map<string, ConfigSource>, warnings: string[], shadowedServices: string[]): Obj {
  const shadowed = shadowedPaths(leafPaths(layer), (p) => sources.get(p));
  if (shadowed.length > 0) {
    warnings.push(
      `live overrides (config.runtime.json, set with PATCH /api/v1/config) take precedence over ${shadowed.map((s) => `${s.path} (${s.source})`).join(', ')}; remove them there to go back to the configured values`,
    );
  }
  if (!Array.isArray(layer['services'])) return layer;
  const operator = Array.isArray(merged['services']) ? (merged['services'] as Obj[]) : [];
  for (const s of operator) sources.set(`services.${String(s['name'])}`, sources.get('services') ?? 'default');
  const overlay = overlayServices(operator, layer['services'] as unknown[]);
  for (const name of overlay.runtime) sources.set(`services.${name}`, 'runtime');
  if (overlay.shadowed.length > 0) {
    shadowedServices.push(...overlay.shadowed);
    warnings.push(
      `live overrides (config.runtime.json) declare the service(s) ${overlay.shadowed.join(', ')} differently from the config file; the config file's definition is used (config-file services are read-only): remove them from config.runtime.json`,
    );
  }
  return { ...layer, services: overlay.services };
}

/** Where a knob's value came from, as a person would name it: `--admin-token`, `MOAT_ADMIN_TOKEN`, `auth.token in the config file`. */
export function originOf(path: string, source: ConfigSource | undefined): string {
  const k = KNOBS.find((x) => x.path === path);
  switch (source) {
    case 'flag':
      return k?.schema.flag ? `--${k.schema.flag}` : `${path} (option)`;
    case 'env':
      return k?.schema.env ?? `${path} (environment)`;
    case 'file':
      return `${path} in the config file`;
    case 'runtime':
      return `${path} (live change)`;
    default:
      return `${path} (default)`;
  }
}

function readConfigFile(file: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayError('config_invalid', `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GatewayError('config_invalid', `config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObj(parsed)) throw new GatewayError('config_invalid', `config file ${file} must hold a JSON object`);
  return parsed;
}

/**
 * Validates one layer and throws config_invalid naming every bad key. Defaults are filled into a
 * copy, unless `inPlace` (the merged result, which then is the configuration).
 */
export function assertValid(layer: unknown, origin: string, inPlace = false): void {
  const problems = checkConfig(inPlace ? layer : structuredClone(layer));
  if (problems.length === 0) return;
  const lines = problems.map((p) => (p.unknownKey !== undefined ? unknownKey(p.path, p.unknownKey) : `${p.path || '(root)'} ${p.message}`));
  throw new GatewayError('config_invalid', `${origin}: ${[...new Set(lines)].join('; ')}`);
}

function unknownKey(parentPath: string, key: string): string {
  const full = parentPath ? `${parentPath}.${key}` : key;
  const siblings = siblingKeys(parentPath);
  const hint = suggest(key, siblings);
  return hint ? `unknown key ${full}, did you mean ${parentPath ? `${parentPath}.` : ''}${hint}?` : `unknown key ${full}`;
}

function siblingKeys(parentPath: string): string[] {
  let schema = ConfigSchema as unknown as Obj;
  for (const seg of parentPath ? parentPath.split('.') : []) {
    if (/^[0-9]+$/.test(seg)) continue; // an index into a list: its items' schema is already current
    const props = schema['properties'] as Obj | undefined;
    const next = props?.[seg] as Obj | undefined;
    if (!next) return [];
    schema = (next['type'] === 'array' ? (next['items'] as Obj) : next) ?? {};
  }
  return Object.keys((schema['properties'] as Obj | undefined) ?? {});
}

function fromEnv(env: Readonly<Record<string, string | undefined>>, warnings: string[]): Obj {
  const out: Obj = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('MOAT_') || raw === undefined || raw === '') continue;
    const k = KNOB_BY_ENV.get(name);
    if (!k) {
      if (!CLIENT_ENV.has(name)) {
        const hint = suggest(name, [...KNOB_BY_ENV.keys()]);
        warnings.push(`unknown environment variable ${name}${hint ? `, did you mean ${hint}?` : ''} (ignored)`);
      }
      continue;
    }
    setPath(out, k.segments, coerce(k, raw, `${name}=${k.schema.secret ? '<redacted>' : raw}`));
  }
  return out;
}

function fromFlags(flags: Readonly<Record<string, unknown>>): Obj {
  const out: Obj = {};
  for (const [name, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const k = KNOB_BY_FLAG.get(name);
    if (!k) throw new GatewayError('config_invalid', `unknown flag --${name}`);
    const label = `--${name}`;
    if (k.type === 'boolean' && typeof raw === 'boolean') setPath(out, k.segments, raw);
    else if (k.type === 'string[]') setPath(out, k.segments, (Array.isArray(raw) ? raw : [raw]).map(String));
    else setPath(out, k.segments, coerce(k, String(raw), label));
  }
  return out;
}

/** Turns a string from env or argv into the knob's type; the schema checks ranges afterwards. */
function coerce(k: KnobInfo, raw: string, label: string): unknown {
  switch (k.type) {
    case 'integer':
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n) || (k.type === 'integer' && !Number.isInteger(n))) {
        throw new GatewayError('config_invalid', `${label}: ${k.path} must be ${k.type === 'integer' ? 'an integer' : 'a number'}`);
      }
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new GatewayError('config_invalid', `${label}: ${k.path} must be 1 or 0 (true or false)`);
    }
    case 'string[]':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'string':
      return raw;
    default:
      throw new GatewayError('config_invalid', `${label}: ${k.path} can only be set in the config file`);
  }
}

function setPath(target: Obj, segments: readonly string[], value: unknown): void {
  let node = target;
  for (const seg of segments.slice(0, -1)) {
    if (!isObj(node[seg])) node[seg] = {};
    node = node[seg] as Obj;
  }
  node[segments[segments.length - 1] as string] = value;
}

/** Objects merge key by key; arrays and scalars replace. Inputs are not modified. */
export function mergeLayer(base: Obj, layer: Obj): Obj {
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    out[key] = isObj(value) && isObj(out[key]) ? mergeLayer(out[key] as Obj, value) : structuredClone(value);
  }
  return out;
}

function leafPaths(layer: Obj, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(layer)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObj(value) && KNOBS.some((k) => k.path.startsWith(`${path}.`))) out.push(...leafPaths(value, path));
    else out.push(path);
  }
  return out;
}

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return resolve(p);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
