/**
 * Validates a configuration object against the schema with Ajv (the validator Fastify already
 * loads), filling defaults in place. The knob annotations are declared as keywords so that strict
 * mode still refuses anything else in the schema.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigSchema } from './schema.js';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, keywords: ['env', 'flag', 'weakens', 'secret', 'live'] });
let validator: ValidateFunction | undefined;

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
  validator ??= ajv.compile(ConfigSchema);
  return validator(value) ? [] : (validator.errors ?? []).map(toProblem);
}
