/**
 * How route schemas become validators and serializers: bodies are validated strictly (a wrong type
 * is an error, never coerced: "admin" is not ["admin"]; unknown fields are refused, not dropped);
 * query strings and path parameters arrive as text, so there numbers and booleans are coerced.
 * Each is compiled on first use rather than at boot: dozens of routes would otherwise cost a
 * noticeable part of the start-up time for routes that may never be called. For the same reason
 * Ajv and fast-json-stringify themselves (~80 files) load with the first request, not at boot.
 */
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import type addFormats from 'ajv-formats';
import type fastJsonStringify from 'fast-json-stringify';

const require = createRequire(import.meta.url);

const common = { removeAdditional: false, useDefaults: true, allErrors: false, strict: true } as const;
let ajvs: { body: Ajv; other: Ajv } | null = null;

function instances(): { body: Ajv; other: Ajv } {
  if (!ajvs) {
    const { Ajv: AjvClass } = require('ajv') as { Ajv: typeof Ajv };
    const formats = require('ajv-formats') as typeof addFormats;
    const body = new AjvClass({ ...common, coerceTypes: false });
    const other = new AjvClass({ ...common, coerceTypes: 'array' });
    for (const a of [body, other]) formats.default(a);
    ajvs = { body, other };
  }
  return ajvs;
}

/** Fastify's validatorCompiler: a validator compiled on its first call (it carries `.errors` like Ajv's). */
export function validatorCompiler({ schema, httpPart }: { schema: object; httpPart?: string }) {
  let compiled: ValidateFunction | null = null;
  const validate: ((data: unknown) => boolean) & { errors: ValidateFunction['errors'] } = Object.assign(
    function validateLazily(data: unknown): boolean {
      compiled ??= (httpPart === 'body' ? instances().body : instances().other).compile(schema);
      const ok = compiled(data) as boolean;
      validate.errors = compiled.errors ?? null;
      return ok;
    },
    { errors: null as ValidateFunction['errors'] },
  );
  return validate;
}

/** Fastify's serializerCompiler: fast-json-stringify, compiled on the first response it serializes. */
export function serializerCompiler({ schema }: { schema: object }) {
  let compiled: ((doc: unknown) => string) | null = null;
  return function serialize(data: unknown): string {
    compiled ??= (require('fast-json-stringify') as typeof fastJsonStringify)(schema as Parameters<typeof fastJsonStringify>[0]) as (doc: unknown) => string;
    return compiled(data);
  };
}
