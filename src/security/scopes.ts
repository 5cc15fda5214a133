/**
 * Scopes a token can carry and the one rule that decides whether a scope set satisfies a route's
 * required scope. Pure functions; no I/O.
 */

/** Resource families; `svc:<name>` (one service behind the proxy) is built with svcScope(). */
export const RESOURCE_SCOPES = ['services', 'jobs', 'hooks', 'tasks', 'tools'] as const;
export const FIXED_SCOPES = ['admin', 'read', 'metrics', ...RESOURCE_SCOPES] as const;
export type FixedScope = (typeof FIXED_SCOPES)[number];
export type Scope = FixedScope | `svc:${string}`;

const SVC_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const FIXED = new Set<string>(FIXED_SCOPES);
const READABLE = new Set<string>(['read', ...RESOURCE_SCOPES]);

export function isScope(value: string): value is Scope {
  return FIXED.has(value) || (value.startsWith('svc:') && SVC_NAME.test(value.slice(4)));
}

export function svcScope(name: string): Scope {
  return `svc:${name}`;
}

/**
 * `admin` satisfies everything; `read` satisfies GET/HEAD on the resource families (never admin
 * routes, never the service proxy, never metrics); any other scope satisfies itself.
 */
export function scopeAllows(held: ReadonlySet<string>, required: string, method: string): boolean {
  if (held.has('admin')) return true;
  if (required === 'admin') return false;
  if (held.has(required)) return true;
  return (method === 'GET' || method === 'HEAD') && held.has('read') && READABLE.has(required);
}

/** The scope itself (or admin), whatever the method: `read` never stands in for it. */
export function scopeHeld(held: ReadonlySet<string>, required: string): boolean {
  return held.has('admin') || held.has(required);
}
