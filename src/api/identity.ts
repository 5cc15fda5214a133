/** What the API answers about tokens and pairing (/api/v1/tokens, /api/v1/pairing-codes, /api/v1/pair). Schema only. */
import { Type, type Static } from '@sinclair/typebox';

export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  kind: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
export type TokenView = Static<typeof TokenView>;

/** A token just created: its secret, shown this once. */
export const TokenCreated = Type.Object({
  token: Type.String({ description: 'The secret. Shown once; only its SHA-256 is stored.' }),
  ...TokenView.properties,
});
export type TokenCreated = Static<typeof TokenCreated>;

export const TokenList = Type.Object({ tokens: Type.Array(TokenView) });
export type TokenList = Static<typeof TokenList>;

export const AdminTokenRotated = Type.Object({ rotated: Type.Boolean(), tokenFile: Type.String() });
export type AdminTokenRotated = Static<typeof AdminTokenRotated>;

export const PairingCodeMinted = Type.Object({
  code: Type.Union([Type.String(), Type.Null()], { description: 'The 6 digits; null for an admin console code (sign-in link only)' }),
  id: Type.String({ description: 'Matches the pairingId of the pairing.redeemed event' }),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.String(),
  console: Type.Boolean(),
  signinUrl: Type.Optional(Type.String({ description: 'Console codes: <gateway>/console/#signin=<link code>, single use, burns the digits too' })),
});
export type PairingCodeMinted = Static<typeof PairingCodeMinted>;
/** A console code (`console: true`): it always carries its sign-in link. */
export type ConsoleCodeMinted = PairingCodeMinted & { signinUrl: string };

export const Paired = Type.Object({
  token: Type.String(),
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});
export type Paired = Static<typeof Paired>;
