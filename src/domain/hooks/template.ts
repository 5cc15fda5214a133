/**
 * Payload templates: `{body.a.b}`, `{body.items.0.id}`, `{query.x}`, `{header.x-github-event}`
 * filled from a verified request by literal substitution. Template injection: there is no
 * expression language and no code; one pass, so a filled-in value that itself contains `{...}` is
 * never expanded again; lookups read own properties only (no prototype walking); credential
 * headers are never available. Missing fields become the empty string. Pure.
 */
import { GatewayError } from '../../errors.js';
import type { Headers } from './verify/types.js';

export interface TemplateContext {
  /** The parsed, verified body (JSON, or a form as an object of strings). */
  body: unknown;
  query: Readonly<Record<string, unknown>>;
  headers: Headers;
}

const PATH = '((?:\\.[A-Za-z0-9_-]{1,128}){1,16})';
const PLACEHOLDER = new RegExp(`\\{(body|query|header)${PATH}\\}`, 'g');
const WHOLE = new RegExp(`^\\{(body|query|header)${PATH}\\}$`);
/** Never copied into a job or a task, whatever a template asks for. */
const HIDDEN_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-webhook-secret', 'x-pairing-code']);
const INDEX = /^(0|[1-9][0-9]{0,8})$/;

function lookup(ctx: TemplateContext, ns: string, dotted: string): unknown {
  const path = dotted.slice(1).split('.');
  if (ns === 'header') {
    const name = (path.length === 1 ? (path[0] as string) : '').toLowerCase();
    if (name === '' || HIDDEN_HEADERS.has(name)) return undefined;
    const v = ctx.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }
  let cur: unknown = ns === 'query' ? ctx.query : ctx.body;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (!INDEX.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return undefined;
    }
  }
  return cur;
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Fills every placeholder in a string with the text of its value. */
export function fillString(template: string, ctx: TemplateContext): string {
  return template.replace(PLACEHOLDER, (_m, ns: string, path: string) => asText(lookup(ctx, ns, path)));
}

/**
 * Fills a JSON template: strings are filled, structure is kept. A string that is exactly one
 * placeholder takes the field's JSON value as it is (a number stays a number, an object is copied).
 */
export function fillTemplate(template: unknown, ctx: TemplateContext): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (!whole) return fillString(template, ctx);
    const v = lookup(ctx, whole[1] as string, whole[2] as string);
    return v === undefined ? '' : (JSON.parse(JSON.stringify(v)) as unknown);
  }
  if (Array.isArray(template)) return template.map((t) => fillTemplate(t, ctx));
  if (typeof template === 'object' && template !== null) {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillTemplate(v, ctx)]));
  }
  return template;
}

/** Refuses a filled result larger than `maxBytes` as JSON (413 action_payload_too_large). */
export function checkSize(value: unknown, maxBytes: number, what: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(value ?? null));
  if (bytes > maxBytes) throw new GatewayError('action_payload_too_large', `the filled ${what} is ${bytes} bytes; inbound.maxPayloadBytes is ${maxBytes}`);
}
