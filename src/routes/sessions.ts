/**
 * Console sessions: POST /api/v1/console/session trades a console code for a session cookie (pair
 * rate class, lockout, login-CSRF check), DELETE signs the caller's own session out; GET /api/v1/me
 * tells any principal who it is; GET/DELETE /api/v1/sessions lists and ends sessions (admin).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GatewayError } from '../errors.js';
import { ANY_PRINCIPAL } from '../security/guard-state.js';
import { sessionClearCookie, sessionSetCookie } from '../crypto/session-cookie.js';
import { actorOf } from './actor.js';
import type { RouteDeps } from './deps.js';
import { IdParams } from './schemas.js';
import { Me, NoContent, SessionList, SessionStarted } from '../api/sessions.js';

const ExchangeBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 128, description: 'The 6 digits of a console pairing code, or the code of a sign-in link (#signin=...)' }) },
  { additionalProperties: false },
);

export function sessionRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'pairing' | 'sessions' | 'tokens' | 'console'>): void {
  const off = () => new GatewayError('not_found', 'the console is off (console.enabled)');

  app.post(
    '/api/v1/console/session',
    {
      config: { auth: 'pairing', rateClass: 'pair', signin: true },
      schema: {
        summary: 'Trade a console sign-in code (6 digits or link code) for a session cookie, once',
        tags: ['console'],
        body: ExchangeBody,
        response: { 201: SessionStarted },
      },
    },
    async (req, reply) => {
      if (deps.sessions === null) throw off();
      const { code } = req.body as Static<typeof ExchangeBody>;
      const { secret, view } = deps.pairing.redeemSession(code.trim(), req.moat.client);
      const maxAge = Math.max(1, Math.floor((Date.parse(view.expiresAt) - Date.parse(view.createdAt)) / 1000));
      reply.header('set-cookie', sessionSetCookie(deps.console.https(req), secret, maxAge));
      return reply
        .code(201)
        .send({ id: view.id, name: view.name, scopes: view.scopes, expiresAt: view.expiresAt, idleTimeoutSeconds: deps.sessions.idleTimeoutSeconds });
    },
  );

  app.delete(
    '/api/v1/console/session',
    {
      config: { scope: ANY_PRINCIPAL },
      schema: { summary: 'Sign the calling console session out (the cookie is cleared)', tags: ['console'], response: { 204: NoContent } },
    },
    async (req, reply) => {
      const p = req.moat.principal;
      if (p?.kind !== 'session' || deps.sessions === null)
        throw new GatewayError('conflict', 'this request is not made with a console session (send the session cookie, not a token)');
      deps.sessions.signOut(p.id, req.moat.client);
      return reply
        .code(204)
        .header('set-cookie', sessionClearCookie(deps.console.https(req)))
        .send();
    },
  );

  app.get(
    '/api/v1/me',
    { config: { scope: ANY_PRINCIPAL }, schema: { summary: 'Who is asking: kind, id, name, scopes, expiry', tags: ['console'], response: { 200: Me } } },
    async (req) => {
      const p = req.moat.principal;
      if (!p) throw new GatewayError('auth_required');
      const base = { kind: p.kind, id: p.id, name: p.name, scopes: [...p.scopes] };
      if (p.kind === 'session') {
        const view = deps.sessions?.view(p.id);
        return { ...base, expiresAt: view?.expiresAt ?? null, idleTimeoutSeconds: deps.sessions?.idleTimeoutSeconds ?? null };
      }
      return { ...base, expiresAt: p.kind === 'token' ? (deps.tokens.describe(p.id)?.expiresAt ?? null) : null, idleTimeoutSeconds: null };
    },
  );

  app.get(
    '/api/v1/sessions',
    {
      config: { scope: 'admin' },
      schema: { summary: 'List live console sessions (never their cookies)', tags: ['console'], response: { 200: SessionList } },
    },
    async (req) => {
      const self = req.moat.principal?.id;
      return { sessions: (deps.sessions?.list() ?? []).map((s) => ({ ...s, current: s.id === self })) };
    },
  );

  app.delete(
    '/api/v1/sessions/:id',
    {
      config: { scope: 'admin' },
      schema: { summary: 'End a console session; its open pages return to sign-in', tags: ['console'], params: IdParams, response: { 204: NoContent } },
    },
    async (req, reply) => {
      if (deps.sessions === null) throw off();
      deps.sessions.revoke((req.params as Static<typeof IdParams>).id, actorOf(req));
      return reply.code(204).send();
    },
  );
}
