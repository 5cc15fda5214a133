/**
 * What a route declares to the guards (auth mode, scope, rate class) and what each request carries
 * through them (client address, principal, scope used). Types only.
 */
import type { Principal } from '../crypto/principal.js';
import type { Scope } from '../crypto/scopes.js';

/**
 * How a route is authenticated. Everything but `bearer` does its own check in the route: `pairing`
 * (X-Pairing-Code), `signature` (signed inbound hooks), `link` (signed action links), `job` (a
 * per-job token a service uses to post progress), `none` (health only).
 */
export type AuthMode = 'bearer' | 'none' | 'pairing' | 'signature' | 'link' | 'job';
/** Rate-limit class of a route. */
export type RateClass = 'pair' | 'hooks' | 'jobs' | 'progress' | 'general';
/**
 * A route's scope: fixed; any one of a list (e.g. the event stream, readable with any resource
 * scope); computed from the routed request (e.g. `svc:<name>`); `{ exact }`, a read that `read`
 * does not open (the scope itself or admin: a service's logs can hold payloads); or ANY_PRINCIPAL.
 */
export type ScopeRequirement = Scope | readonly Scope[] | ((params: unknown) => Scope) | { readonly exact: Scope } | typeof ANY_PRINCIPAL;

/** A route open to every authenticated principal whatever its scopes (GET /api/v1/me): it shows only the caller itself. */
export const ANY_PRINCIPAL = Object.freeze({ authenticated: true as const });

/** Per-request state the guards fill in (client address, principal, scope used). */
export interface GuardState {
  client: string;
  principal: Principal | null;
  scope: string | null;
  /** Set once the request has its audit entry (a refusal, or an unknown route), so it gets one only. */
  audited: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    moat: GuardState;
  }
  interface FastifyContextConfig {
    /** Scope the route needs (bearer routes). A bearer route without one is refused (fail closed). */
    scope?: ScopeRequirement;
    /** Default `bearer`. */
    auth?: AuthMode;
    /** Default `general`. */
    rateClass?: RateClass;
    /** A console page or file: the console's security headers (CSP and the rest) on every response. */
    console?: boolean;
    /** The console sign-in exchange (`auth: 'pairing'`): a browser must send it same-origin (login CSRF). */
    signin?: boolean;
    /**
     * Default true. false: the route's writes are counted in the request metrics, not audited one
     * by one (a service's progress posts, many per job); refusals are audited as ever.
     */
    auditWrites?: boolean;
  }
}
