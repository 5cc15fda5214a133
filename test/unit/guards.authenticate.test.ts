/**
 * Bearer authentication alone, on the raw message it reads (Authorization, the raw header list,
 * the connection): malformed and duplicated credentials, oversized ones, and revocation taking
 * effect at once on a keep-alive connection. End to end: test/integration/auth.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/crypto/principal.js';
import { generateToken, tokenDigest } from '../../src/crypto/tokens.js';
import { authenticate, type BearerRequest } from '../../src/security/authenticate.js';
import { outcome } from '../helpers/refusal.js';

const TOKEN = generateToken();
const PRINCIPAL: Principal = { id: 'tok_1', name: 'ci', kind: 'token', scopes: new Set(['jobs']) };

/** A verifier over a set of live digests that counts its lookups. */
function verifier() {
  const live = new Map([[tokenDigest(TOKEN), PRINCIPAL]]);
  const v = { lookups: 0, live, verifyDigest: (digest: string) => (v.lookups++, live.get(digest) ?? null) };
  return v;
}

const bearer = (authorization: string | undefined, socket: object = {}, rawHeaders?: string[]): BearerRequest => ({
  headers: authorization === undefined ? {} : { authorization },
  rawHeaders: rawHeaders ?? (authorization === undefined ? [] : ['Authorization', authorization]),
  socket,
});

describe('bearer authentication', () => {
  it.each([[`Bearer ${TOKEN}`], [`bearer ${TOKEN}`], [`BEARER ${TOKEN}`]])('takes %s (the scheme is case-insensitive, RFC 6750)', (header) => {
    const auth = authenticate({ enabled: true, verifier: verifier() });
    expect(auth(bearer(header), 0)).toBe(PRINCIPAL);
  });

  it('refuses a request without Authorization with auth_required and a Bearer challenge', () => {
    const auth = authenticate({ enabled: true, verifier: verifier() });
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
    const auth = authenticate({ enabled: true, verifier: verifier() });
    expect(outcome(() => auth(bearer(header), 0))).toBe('token_invalid');
  });

  it('refuses two Authorization lines even when the first is good (Node keeps only the first)', () => {
    const auth = authenticate({ enabled: true, verifier: verifier() });
    const req = bearer(`Bearer ${TOKEN}`, {}, ['Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other']);
    expect(outcome(() => auth(req, 0))).toBe('token_invalid');
  });

  it('refuses an overlong credential before hashing or looking it up', () => {
    const v = verifier();
    const auth = authenticate({ enabled: true, verifier: v });
    expect(outcome(() => auth(bearer(`Bearer ${'a'.repeat(601)}`), 0))).toBe('token_invalid');
    expect(outcome(() => auth(bearer(`Bearer ${'a'.repeat(1_000_000)}`), 0))).toBe('token_invalid');
    expect(v.lookups).toBe(0);
  });

  it('looks the token up on every request of a keep-alive connection: a revoked token stops at once', () => {
    const v = verifier();
    const auth = authenticate({ enabled: true, verifier: v });
    const connection = {};
    expect(auth(bearer(`Bearer ${TOKEN}`, connection), 0)).toBe(PRINCIPAL);
    expect(auth(bearer(`Bearer ${TOKEN}`, connection), 1)).toBe(PRINCIPAL);
    v.live.clear();
    expect(outcome(() => auth(bearer(`Bearer ${TOKEN}`, connection), 2))).toBe('token_invalid');
    expect(v.lookups).toBe(3);
  });

  it('does not carry one connection credential over to a different header on the same connection', () => {
    const auth = authenticate({ enabled: true, verifier: verifier() });
    const connection = {};
    expect(auth(bearer(`Bearer ${TOKEN}`, connection), 0)).toBe(PRINCIPAL);
    expect(outcome(() => auth(bearer(`Bearer ${generateToken()}`, connection), 0))).toBe('token_invalid');
  });

  it('with auth off (loopback only) is the anonymous admin, whatever was sent', () => {
    const auth = authenticate({ enabled: false, verifier: verifier() });
    expect(auth(bearer(undefined), 0).id).toBe('anonymous');
    expect(auth(bearer('Basic junk'), 0).scopes.has('admin')).toBe(true);
  });
});
