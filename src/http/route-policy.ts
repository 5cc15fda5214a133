/**
 * A route's guard policy, compiled once from what it declares (auth mode, scope, rate class,
 * console, sign-in): what the pipeline applies to each of its requests. Routes fail closed: a
 * bearer route without a scope does not register.
 */
import type { RouteOptions } from 'fastify';
import type { RouteSlots } from '../observe/request-metrics.js';
import type { Budget } from '../security/inflight-limit.js';
import type { AuthMode, RateClass, ScopeRequirement } from '../security/guard-state.js';

export interface RoutePolicy {
  auth: AuthMode;
  scope: ScopeRequirement | undefined;
  rateClass: RateClass;
  write: boolean;
  /** Answered while draining (health says "draining" itself; running jobs still post progress). */
  drainExempt: boolean;
  /** The in-flight budget its requests are charged to (none: health, and upgrades, which take stream slots). */
  budget: Budget;
  /** Takes the console session cookie when no bearer token is sent (bearer routes under /api/v1/). */
  cookie: boolean;
  /** The console sign-in exchange: the login-CSRF check and the lockout whatever the request holds. */
  signin: boolean;
  /** Console pages and files: the console's security headers. */
  console: boolean;
  /** Where its requests are counted (observe/request-metrics.ts); -1: not counted (upgrades). */
  slot: number;
  slotByMethod: RouteSlots['byMethod'];
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isWrite(method: string): boolean {
  return !READ_METHODS.has(method);
}

/** The budget of each auth mode: the routes that take no bearer token have one of their own. */
const BUDGETS: Readonly<Record<AuthMode, Budget>> = {
  bearer: 'principal',
  none: 'none',
  pairing: 'unauthenticated',
  signature: 'unauthenticated',
  link: 'unauthenticated',
  job: 'anonymous',
};

/** Compiles a route's declared policy; a bearer route without a scope is a programming error. */
export function routePolicy(route: Pick<RouteOptions, 'method' | 'url' | 'config'>, slots?: RouteSlots): RoutePolicy {
  const config = (route.config ?? {}) as {
    scope?: ScopeRequirement;
    auth?: AuthMode;
    rateClass?: RateClass;
    auditWrites?: boolean;
    console?: boolean;
    signin?: boolean;
  };
  const auth = config.auth ?? 'bearer';
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (auth === 'bearer' && config.scope === undefined) {
    throw new Error(`route ${methods.join(',')} ${route.url} declares no scope (routes fail closed; declare config.scope)`);
  }
  return {
    auth,
    scope: config.scope,
    rateClass: config.rateClass ?? 'general',
    // The cookie opens the API only: never /svc/* (the proxy), /hooks/*, /actions/*, /metrics.
    cookie: auth === 'bearer' && route.url.startsWith('/api/v1/'),
    signin: auth === 'pairing' && config.signin === true,
    console: config.console === true,
    // `auditWrites: false` (a service's progress posts, many per job): counted in the request metrics
    // by route and status, not audited one by one (the job's transitions are; refusals still are).
    write: methods.some((m) => isWrite(String(m))) && config.auditWrites !== false,
    drainExempt: route.url === '/api/v1/health' || auth === 'job',
    budget: BUDGETS[auth],
    slot: slots?.slot ?? -1,
    slotByMethod: slots?.byMethod ?? null,
  };
}
