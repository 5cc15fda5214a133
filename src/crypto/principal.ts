/**
 * Who is making a request, once authenticated: an actor (src/api/actor.ts) with its kind and
 * scopes. Types and one constant; no I/O.
 */
import type { Actor } from '../api/actor.js';

export interface Principal extends Actor {
  /** Token id (`admin` for the admin token, `anonymous` when auth is off on loopback), or a console session's id (`ses_...`). */
  readonly id: string;
  readonly name: string;
  readonly kind: 'admin' | 'token' | 'session' | 'anonymous';
  readonly scopes: ReadonlySet<string>;
}

export const ANONYMOUS_ADMIN: Principal = Object.freeze({
  id: 'anonymous',
  name: 'anonymous (auth off)',
  kind: 'anonymous',
  scopes: new Set<string>(['admin']),
});
