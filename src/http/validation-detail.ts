/**
 * Ajv's schema errors in words a person can act on: one entry per field, the allowed values listed
 * once ("must be one of queued, running, ...") instead of one "must be equal to constant" per
 * literal of a union, and an unknown field named. Pure function of the errors; no request access.
 */

export interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

export interface FieldProblem {
  path: string;
  message: string;
}

/** Keywords that only restate "none of the alternatives matched" when the alternatives are listed. */
const SUMMARY_KEYWORDS = new Set(['anyOf', 'oneOf', 'const', 'enum', 'type']);

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `context` is Fastify's part of the request (body, querystring, params, headers). */
export function describeValidation(context: string, errors: readonly AjvLikeError[]): FieldProblem[] {
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) {
    const path = e.instancePath ?? '';
    const values =
      e.keyword === 'const' ? [e.params?.['allowedValue']] : e.keyword === 'enum' ? ((e.params?.['allowedValues'] as unknown[] | undefined) ?? []) : [];
    if (values.length > 0) allowed.set(path, [...(allowed.get(path) ?? []), ...values]);
  }
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string) => {
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ path, message });
  };
  for (const e of errors) {
    const path = e.instancePath ?? '';
    const values = allowed.get(path);
    if (values && SUMMARY_KEYWORDS.has(e.keyword ?? '')) {
      add(`${context}${path}`, `must be one of ${[...new Set(values.map(show))].join(', ')}`);
      continue;
    }
    if (e.keyword === 'additionalProperties' && typeof e.params?.['additionalProperty'] === 'string') {
      add(`${context}${path}/${e.params['additionalProperty']}`, 'is not a known field');
      continue;
    }
    add(`${context}${path}`, e.message ?? 'is invalid');
  }
  return out;
}
