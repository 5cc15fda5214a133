/**
 * Live configuration: which keys may change without a restart, RFC 7396 merge patches of the
 * runtime overrides (<dataDir>/config.runtime.json), a two-phase apply (every part prepares the new
 * configuration and may refuse it; only then does every part commit), redaction of secrets, and
 * the list of keys a change touched. Knows nothing of the parts it reconfigures.
 */
import { GatewayError } from '../errors.js';
import { KNOBS } from './load.js';
import type { Config } from './schema.js';
import type { Actor } from '../api/actor.js';
import { dataDirPaths } from '../api/data-dir.js';

/** Top-level keys PATCH /api/v1/config may change (the same keys as the config file). */
export const LIVE_KEYS = ['services', 'hooks', 'triggers', 'tools', 'egress', 'rateLimit', 'allowedOrigins', 'publicNames', 'notifications', 'mounts'] as const;

/** A top-level key PATCH /api/v1/config may change. */
export type LiveKey = (typeof LIVE_KEYS)[number];

/**
 * The configuration as captured at boot, without the live keys: a part given this snapshot cannot
 * capture a live value by mistake. Whatever depends on a live key reads the live configuration at
 * use time, or takes the change as a part of the live list (Reconfigurable).
 */
export type BootConfig = Omit<Readonly<Config>, LiveKey>;

/** <dataDir>/config.runtime.json: the live changes, read at boot over the config file. */
export function runtimeFile(dataDir: string): string {
  return dataDirPaths(dataDir).runtimeConfig;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396: objects merge member by member, `null` removes a member, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Refuses a patch that touches anything but the live keys: host, port, tls and dataDir (and every
 * other boot-time knob) need a restart. Unknown keys are left to the schema (config_invalid).
 */
export function checkPatchKeys(patch: unknown, known: readonly string[]): void {
  if (!isObj(patch)) throw new GatewayError('config_invalid', 'a config patch is a JSON object (RFC 7396 merge patch)');
  const live = new Set<string>(LIVE_KEYS);
  const restart = Object.keys(patch).filter((k) => !live.has(k) && known.includes(k));
  if (restart.length > 0) {
    throw new GatewayError(
      'restart_required',
      `${restart.join(', ')} cannot change while the gateway runs; change the config file, environment or flags and restart`,
      {
        extra: { keys: restart },
      },
    );
  }
}

/** One part of the gateway that takes live changes: checks the next config, then applies it. */
export interface Reconfigurable {
  name: string;
  /** Compiles/validates for `next` and returns the commit; throws (config_invalid...) to refuse. */
  prepare(next: Readonly<Config>, previous: Readonly<Config>, actor: Actor): () => void;
}

/**
 * A patch may carry back what GET /api/v1/config showed: a `[redacted]` value keeps the secret in
 * force at the same place (array elements matched by `name`, else by position), so that a client
 * can edit a list and send it whole. One with nothing to keep is refused, never stored as the secret.
 */
export function restoreRedacted(patch: unknown, current: unknown, path = ''): unknown {
  if (patch === REDACTED) {
    if (typeof current === 'string' || typeof current === 'number') return current;
    throw new GatewayError('config_invalid', `${path || '(root)'} is ${REDACTED} but has no current value to keep: send the value itself`);
  }
  if (Array.isArray(patch)) {
    const list = Array.isArray(current) ? current : [];
    return patch.map((item, i) => {
      const byName = isObj(item) && typeof item['name'] === 'string';
      const match = byName ? list.find((c) => isObj(c) && c['name'] === item['name']) : list[i];
      return restoreRedacted(item, match, `${path}[${i}]`);
    });
  }
  if (!isObj(patch)) return patch;
  const base = isObj(current) ? current : {};
  return Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, restoreRedacted(v, base[k], path ? `${path}.${k}` : k)]));
}

/** Dotted paths whose values differ between two configs (leaves; arrays compared whole). */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

const SECRET_KNOBS = new Set(KNOBS.filter((k) => k.schema.secret).map((k) => k.path));
/**
 * Values that work as credentials without the name of one: an ntfy topic is read by whoever knows
 * it, and a webhook URL (Slack, Discord) carries its secret in the path.
 */
const SECRET_PATHS = new Set(['notifications.ntfy.topic', 'notifications.webhook.url']);
/** Field names that hold secrets wherever they appear (hook secrets, service env values, ...). */
const SECRET_FIELD = /secret|token|password|passphrase|apikey|api_key/i;
export const REDACTED = '[redacted]';

/** The configuration with every secret replaced by `[redacted]` (present) and kept absent if absent. */
export function redact(config: unknown, path = ''): unknown {
  if (Array.isArray(config)) return config.map((v) => redact(v, path));
  if (!isObj(config)) return config;
  const out: Obj = {};
  for (const [key, value] of Object.entries(config)) {
    const p = path ? `${path}.${key}` : key;
    if (value === undefined) continue;
    if (SECRET_KNOBS.has(p) || SECRET_PATHS.has(p) || (SECRET_FIELD.test(key) && (typeof value === 'string' || typeof value === 'number'))) out[key] = REDACTED;
    else if (key === 'env' && isObj(value)) out[key] = Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
    else out[key] = redact(value, p);
  }
  return out;
}
