/**
 * Scopes a token can carry and the one rule that decides whether a scope set satisfies a route's
 * required scope. Pure functions; no I/O.
 */

/** Resource families; `svc:<name>` (one service behind the proxy) is built with svcScope(). */
export const RESOURCE_SCOPES = ['services', 'jobs', 'hooks', 'tasks', 'tools'] as const;
/**
 * `jobs:all`: everything `jobs` allows, on every principal's jobs (payloads and results, cancel,
 * delete), not only the token's own. For operators; granted explicitly, never implied by `jobs`.
 */
export const JOBS_ALL = 'jobs:all';
export const FIXED_SCOPES = ['admin', 'read', 'metrics', ...RESOURCE_SCOPES, JOBS_ALL] as const;
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
 * routes, never the service proxy, never metrics); `jobs:all` satisfies `jobs`; any other scope
 * satisfies itself.
 */
export function scopeAllows(held: ReadonlySet<string>, required: string, method: string): boolean {
  if (held.has('admin')) return true;
  if (required === 'admin') return false;
  if (held.has(required)) return true;
  if (required === 'jobs' && held.has(JOBS_ALL)) return true;
  return (method === 'GET' || method === 'HEAD') && held.has('read') && READABLE.has(required);
}

/**
 * Whether `held` reaches every principal's jobs (and schedules), not only its own: `admin` or
 * `jobs:all`. Everyone else sees the payload and result of its own jobs only (HABITS 24).
 */
export function seesAllJobs(held: ReadonlySet<string>): boolean {
  return held.has('admin') || held.has(JOBS_ALL);
}

/** The scope itself (or admin), whatever the method: `read` never stands in for it. */
export function scopeHeld(held: ReadonlySet<string>, required: string): boolean {
  return held.has('admin') || held.has(required);
}
