/** What the API answers about console sessions (/api/v1/console/session, /api/v1/me, /api/v1/sessions). Schema only. */
import { Type, type Static } from '@sinclair/typebox';

/** A session just started by a sign-in (its cookie is in Set-Cookie, never in the body). */
export const SessionStarted = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.String(),
  idleTimeoutSeconds: Type.Integer(),
});
export type SessionStarted = Static<typeof SessionStarted>;

/** Who is asking: the principal behind the request. */
export const Me = Type.Object({
  kind: Type.Union([Type.Literal('admin'), Type.Literal('token'), Type.Literal('session'), Type.Literal('anonymous')]),
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  idleTimeoutSeconds: Type.Union([Type.Integer(), Type.Null()]),
});
export type Me = Static<typeof Me>;

export const SessionView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
  lastUsedAt: Type.String(),
  expiresAt: Type.String(),
  idleExpiresAt: Type.String(),
  client: Type.String(),
  current: Type.Boolean({ description: 'The session making this request' }),
});
export type SessionView = Static<typeof SessionView>;

export const SessionList = Type.Object({ sessions: Type.Array(SessionView) });
export type SessionList = Static<typeof SessionList>;

export const NoContent = Type.Null({ description: 'No content' });
