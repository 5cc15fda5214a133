/**
 * Annotations that turn a schema leaf into a documented knob (env name, flag, what turning it off
 * weakens), and the walker that lists every knob. The schema is the single source for the loader,
 * the CLI flags and docs/configuration.md.
 */
import type { TSchema } from '@sinclair/typebox';

export interface KnobMeta {
  /** One line: what the knob does. Units go here too. */
  description: string;
  /** Environment variable that sets it (MOAT_*). */
  env?: string;
  /** CLI flag of `moat serve` without dashes; a boolean flag also gets its `no-` form. */
  flag?: string;
  /** What turning it off (or widening it) weakens. Every protection knob says it. */
  weakens?: string;
  /** The value is a secret: redacted in every output. */
  secret?: true;
  /** Changeable at runtime through PATCH /api/v1/config. */
  live?: true;
}

/** Attach knob metadata to a schema (the keys are plain JSON Schema annotations). */
export function knob<T extends TSchema>(schema: T, meta: KnobMeta): T {
  return Object.assign(schema, meta);
}

export interface KnobInfo {
  /** Dotted path, e.g. `rateLimit.pair.perMinute`. */
  path: string;
  segments: readonly string[];
  schema: Record<string, unknown> & KnobMeta;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'string[]' | 'object[]' | 'object' | 'other';
}

function leafType(schema: Record<string, unknown>): KnobInfo['type'] {
  const t = schema['type'];
  if (t === 'string' || t === 'integer' || t === 'number' || t === 'boolean') return t;
  if (Array.isArray(schema['enum']) || Array.isArray(schema['anyOf'])) {
    const options = (schema['anyOf'] as Array<Record<string, unknown>> | undefined) ?? [];
    if (options.every((o) => o['type'] === 'string' || typeof o['const'] === 'string')) return 'string';
    return 'other';
  }
  if (t === 'array') {
    const items = schema['items'] as Record<string, unknown> | undefined;
    if (items?.['type'] === 'string') return 'string[]';
    return 'object[]';
  }
  if (t === 'object') return 'object';
  return 'other';
}

/** Every documented leaf of an object schema, depth first, in declaration order. */
export function listKnobs(schema: TSchema, prefix: string[] = []): KnobInfo[] {
  const out: KnobInfo[] = [];
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [key, child] of Object.entries(properties)) {
    const segments = [...prefix, key];
    const c = child as unknown as Record<string, unknown> & KnobMeta;
    const type = leafType(c);
    // Sections (strict objects that default to {}) are walked; an object knob (e.g. ntfy) is a leaf.
    if (type === 'object' && c['properties'] !== undefined && typeof c['default'] === 'object') {
      out.push(...listKnobs(child, segments));
    } else {
      out.push({ path: segments.join('.'), segments, schema: c, type });
    }
  }
  return out;
}
