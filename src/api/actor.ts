/**
 * Who did something, as plain data: the one `Actor` type of the code base (a token's id and name,
 * or a fixed id for the gateway's own acts). The domain, the store, the audit record, the routes and
 * the CLI all carry this shape; an authenticated `Principal` (src/crypto/principal.ts) is one. Type only.
 */
export interface Actor {
  readonly id: string;
  readonly name: string;
}
