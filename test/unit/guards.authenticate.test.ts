/**
 * Bearer authentication alone, on the raw message it reads (Authorization, the raw header list,
 * the connection): malformed and duplicated credentials, oversized ones, and revocation taking
 * effect at once on a keep-alive connection. End to end: test/integration/auth.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/crypto/principal.js';
import { generateSessionSecret } from '../../src/crypto/session-cookie.js';
import { generateToken, tokenDigest } from '../../src/crypto/tokens.js';
import { authenticate, type BearerRequest } from '../../src/security/authenticate.js';
import { outcome } from '../helpers/refusal.js';

const TOKEN = generateToken();
const PRINCIPAL: Principal = { id: 'tok_1', name: 'ci', kind: 'token', scopes: new Set(['jobs']) };

/** A verifier over a set of live digests that counts its lookups. */
function verifier() {
  const live = new Map([[tokenDigest(TOKEN), PRINCIPAL]]);
  const v = {
    lookups: 0,
    live,
    verifyDigest: (digest: string) => {
      v.lookups++;
      return live.get(digest) ?? null;
    },
  };
  return v;
}

const bearer = (authorization: string | undefined, socket: object = {}, rawHeaders?: string[]): BearerRequest => ({
  headers: authorization === undefined ? {} : { authorization },
  rawHeaders: rawHeaders ?? (authorization === undefined ? [] : ['Authorization', authorization]),
  socket,
});

describe('bearer authentication', () => {
  it.each([[`Bearer ${TOKEN}`], [`bearer ${TOKEN}`], [`BEARER ${TOKEN}`]])('takes %s (the scheme is case-insensitive, RFC 6750)', (header) => {
    const auth = authenticate({ enabled: true, verifier: verifier(), sessions: null, https: () => false });
    expect(auth(bearer(header), 0)).toBe(PRINCIPAL);
  });

  it('refuses a request without Authorization with auth_required and a Bearer challenge', () => {
    const auth = authenticate({ enabled: true, verifier: verifier(), sessions: null, https: () => false });
    expect(outcome(() => auth(bearer(undefined), 0))).toBe('auth_required');
    try {
      auth(bearer(undefined), 0);
    } catch (err) {
      expect((err as { headers?: Record<string, string> }).headers?.['www-authenticate']).toBe('Bearer realm="moat"');
    }
  });

  it.each([
    ['another scheme', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['no space after the scheme', `Bearer${TOKEN}`],
    ['a tab instead of the space', `Bearer\t${TOKEN}`],
    ['two spaces', `Bearer  ${TOKEN}`],
    ['a token with a trailing space', `Bearer ${TOKEN} `],
    ['an unknown token', `Bearer ${generateToken()}`],
    ['a truncated token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the digest instead of the token', `Bearer ${tokenDigest(TOKEN)}`],
    ['a prefix of the scheme', `Bear ${TOKEN}`],
  ])('refuses %s with token_invalid', (_what, header) => {
    const auth = authenticate({ enabled: true, verifier: verifier(), sessions: null, https: () => false });
    expect(outcome(() => auth(bearer(header), 0))).toBe('token_invalid');
  });

  it('refuses two Authorization lines even when the first is good (Node keeps only the first)', () => {
    const auth = authenticate({ enabled: true, verifier: verifier(), sessions: null, https: () => false });
    const req = bearer(`Bearer ${TOKEN}`, {}, ['Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other']);
    expect(outcome(() => auth(req, 0))).toBe('token_invalid');
  });

  it('refuses an overlong credential before hashing or looking it up', () => {
    const v = verifier();
    const auth = authenticate({ enabled: true, verifier: v, sessions: null, https: () => false });
    expect(outcome(() => auth(bearer(`Bearer ${'a'.repeat(601)}`), 0))).toBe('token_invalid');
    expect(outcome(() => auth(bearer(`Bearer ${'a'.repeat(1_000_000)}`), 0))).toBe('token_invalid');
    expect(v.lookups).toBe(0);
  });

  it('looks the token up on every request of a keep-alive connection: a revoked token stops at once', () => {
    const v = verifier();
    const auth = authenticate({ enabled: true, verifier: v, sessions: null, https: () => false });
    const connection = {};
    expect(auth(bearer(`Bearer ${TOKEN}`, connection), 0)).toBe(PRINCIPAL);
    expect(auth(bearer(`Bearer ${TOKEN}`, connection), 1)).toBe(PRINCIPAL);
    v.live.clear();
    expect(outcome(() => auth(bearer(`Bearer ${TOKEN}`, connection), 2))).toBe('token_invalid');
    expect(v.lookups).toBe(3);
  });

  it('does not carry one connection credential over to a different header on the same connection', () => {
    const auth = authenticate({ enabled: true, verifier: verifier(), sessions: null, https: () => false });
    const connection = {};
    expect(auth(bearer(`Bearer ${TOKEN}`, connection), 0)).toBe(PRINCIPAL);
    expect(outcome(() => auth(bearer(`Bearer ${generateToken()}`, connection), 0))).toBe('token_invalid');
  });

  it('with auth off (loopback only) is the anonymous admin, whatever was sent', () => {
    const auth = authenticate({ enabled: false, verifier: verifier(), sessions: null, https: () => false });
    expect(auth(bearer(undefined), 0).id).toBe('anonymous');
    expect(auth(bearer('Basic junk'), 0).scopes.has('admin')).toBe(true);
  });
});

describe('console session cookie (routes that take it, without a bearer token)', () => {
  const SECRET = generateSessionSecret();
  const SESSION: Principal = { id: 'ses_1', name: 'phone', kind: 'session', scopes: new Set(['read']) };
  const sessions = { verifyDigest: (digest: string) => (digest === tokenDigest(SECRET) ? SESSION : null) };
  const withCookie = (cookie: string | undefined, authorization?: string): BearerRequest => ({
    headers: { ...(cookie === undefined ? {} : { cookie }), ...(authorization === undefined ? {} : { authorization }) },
    rawHeaders: authorization === undefined ? [] : ['Authorization', authorization],
    socket: {},
  });
  const auth = authenticate({ enabled: true, verifier: verifier(), sessions, https: () => false });

  it('takes a live session cookie on a cookie route', () => {
    expect(auth(withCookie(`moat_session=${SECRET}`), 0, true)).toBe(SESSION);
  });

  it('finds the live value among several cookies of the name (another app on this host may set its own)', () => {
    expect(auth(withCookie(`moat_session=${generateSessionSecret()}; moat_session=${SECRET}`), 0, true)).toBe(SESSION);
  });

  it.each([
    ['a dead session', `moat_session=${generateSessionSecret()}`],
    ['a malformed value', 'moat_session=short'],
    ['an empty value', 'moat_session='],
  ])('refuses %s with session_invalid and clears the cookie', (_label, cookie) => {
    expect(outcome(() => auth(withCookie(cookie), 0, true))).toBe('session_invalid');
  });

  it.each([
    ['a route that does not take the cookie', `moat_session=${SECRET}`, false],
    ['the TLS name on a plain-HTTP request', `__Host-moat_session=${SECRET}`, true],
    ['another cookie whose name contains ours', `xmoat_session=${SECRET}`, true],
  ])('ignores the cookie on %s (auth_required)', (_label, cookie, cookieRoute) => {
    expect(outcome(() => auth(withCookie(cookie), 0, cookieRoute))).toBe('auth_required');
  });

  it('never lets a cookie rescue a bad bearer token', () => {
    expect(outcome(() => auth(withCookie(`moat_session=${SECRET}`, 'Bearer nope'), 0, true))).toBe('token_invalid');
  });
});
