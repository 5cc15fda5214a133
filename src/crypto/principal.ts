/**
 * Who acts: an `Actor` (id and name, the form the domain, the store and the audit record carry)
 * and a `Principal`, an authenticated actor with its kind and scopes. Types and one constant; no I/O.
 */

/** Who did something, as plain data: a token's id and name, or a fixed id for the gateway's own acts. */
export interface Actor {
  readonly id: string;
  readonly name: string;
}

export interface Principal extends Actor {
  /** Token id (`admin` for the admin token, `anonymous` when auth is off on loopback). */
  readonly id: string;
  readonly name: string;
  readonly kind: 'admin' | 'token' | 'anonymous';
  readonly scopes: ReadonlySet<string>;
}

export const ANONYMOUS_ADMIN: Principal = Object.freeze({
  id: 'anonymous',
  name: 'anonymous (auth off)',
  kind: 'anonymous',
  scopes: new Set<string>(['admin']),
});
