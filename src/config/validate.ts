/**
 * Validates a configuration object against the schema with Ajv, filling defaults in place; the
 * validator is compiled at build time (scripts/compile-validators.mjs) or, from src/, on first use. The knob annotations are declared as keywords so that strict
 * mode still refuses anything else in the schema.
 */
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { ConfigSchema } from './schema.js';
import { CONFIG_AJV_OPTIONS } from './validate-options.js';

/** The validator compiled at build time (dist/), when present; else it is compiled on first use. */
const GENERATED = './config-validator.generated.js';
let validator: ValidateFunction | undefined = await import(GENERATED).then(
  (m: { default: ValidateFunction }) => m.default,
  () => undefined,
);

export interface ConfigProblem {
  /** Dotted path of the key at fault ('' for the root). */
  path: string;
  keyword: string;
  message: string;
  /** For unknown keys: the key itself. */
  unknownKey?: string;
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function toProblem(e: ErrorObject): ConfigProblem {
  const path = pointerToPath(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    return { path, keyword: e.keyword, message: 'unknown key', unknownKey: (e.params as { additionalProperty: string }).additionalProperty };
  }
  return { path, keyword: e.keyword, message: e.message ?? 'invalid' };
}

/** Fills defaults into `value` (mutating it) and returns what is wrong with it, if anything. */
export function checkConfig(value: unknown): ConfigProblem[] {
  validator ??= new (createRequire(import.meta.url)('ajv') as { Ajv: typeof Ajv }).Ajv({
    ...CONFIG_AJV_OPTIONS,
    keywords: [...CONFIG_AJV_OPTIONS.keywords],
  }).compile(ConfigSchema);
  return validator(value) ? [] : (validator.errors ?? []).map(toProblem);
}
