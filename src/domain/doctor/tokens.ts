/**
 * Doctor checks of credentials: the admin token's strength and age, whether gateway-token holds the
 * admin token in use, and tokens that hold admin forever. Judges facts only; never shows a secret.
 */
import { isWellFormedToken } from '../../crypto/tokens.js';
import type { Check, Finding, TokenStrength } from './types.js';

const DAY_MS = 86_400_000;
/** An admin token older than this should be rotated (a copy may sit in an old backup or a shell history). */
export const ADMIN_TOKEN_MAX_AGE_DAYS = 180;

type Result = Omit<Finding, 'id'>;

/** The shortest period of a repeating pattern (e.g. 9 for "Password1Password1..."), or the length. */
function period(s: string): number {
  for (let p = 1; p <= s.length / 2; p++) {
    let repeats = true;
    for (let i = p; i < s.length && repeats; i++) repeats = s[i] === s[i - p];
    if (repeats) return p;
  }
  return s.length;
}

/**
 * A generated token (moat_ + 43 base64url characters, 256 random bits) is strong. An operator's
 * admin token is estimated from its length and the character classes it uses, and refused as weak when
 * it repeats a pattern or a few characters (guessable however long).
 */
export function tokenStrength(token: string): TokenStrength {
  if (isWellFormedToken(token)) return { strong: true, bits: 256, problem: null, weak: false };
  const classes = [
    [/[a-z]/, 26],
    [/[A-Z]/, 26],
    [/[0-9]/, 10],
    [/[^A-Za-z0-9]/, 32],
  ] as const;
  const alphabet = classes.reduce((n, [re, size]) => (re.test(token) ? n + size : n), 0);
  const bits = Math.floor(token.length * Math.log2(Math.max(alphabet, 2)));
  const distinct = new Set(token).size;
  const p = period(token);
  if (p <= token.length / 2) return { strong: false, bits, problem: `it repeats a ${p}-character pattern`, weak: true };
  if (distinct < 10) return { strong: false, bits, problem: `it uses only ${distinct} distinct characters`, weak: true };
  if (bits < 80) return { strong: false, bits, problem: `about ${bits} bits by its length and character classes`, weak: true };
  if (distinct < 16 || bits < 128)
    return { strong: false, bits, problem: `about ${bits} bits, ${distinct} distinct characters (want 128 bits of randomness)`, weak: false };
  return { strong: true, bits, problem: null, weak: false };
}

const strength: Check = {
  id: 'admin-token.strength',
  needs: 'gateway',
  run(ctx): Result {
    const t = ctx.gateway!.adminToken;
    if (t.source === 'file') return { severity: 'ok', finding: 'the admin token is generated (256 random bits) and kept in gateway-token', fix: 'none needed' };
    if (t.strength.strong)
      return { severity: 'ok', finding: `the admin token given with ${t.origin} looks random (about ${t.strength.bits} bits)`, fix: 'none needed' };
    return {
      severity: t.strength.weak ? 'fail' : 'warn',
      finding: `the admin token given with ${t.origin} is ${t.strength.weak ? 'weak' : 'not clearly random'}: ${t.strength.problem}`,
      fix: `use a random one (openssl rand -base64 32) in ${t.origin}, or remove it and let moat generate gateway-token`,
    };
  },
};

const age: Check = {
  id: 'admin-token.age',
  needs: 'gateway',
  run(ctx): Result {
    const t = ctx.gateway!.adminToken;
    if (t.issuedAt === null) return { severity: 'ok', finding: 'the admin token has no recorded issue date', fix: 'none needed' };
    const days = Math.floor((ctx.now - t.issuedAt) / DAY_MS);
    const since = new Date(t.issuedAt).toISOString().slice(0, 10);
    if (days <= ADMIN_TOKEN_MAX_AGE_DAYS)
      return { severity: 'ok', finding: `the admin token is ${days} day(s) old (in use since ${since})`, fix: 'none needed' };
    return {
      severity: 'warn',
      finding: `the admin token is ${days} days old (in use since ${since}; rotate at least every ${ADMIN_TOKEN_MAX_AGE_DAYS} days)`,
      fix: t.source === 'file' ? 'moat token rotate-admin' : `change ${t.origin} and restart`,
    };
  },
};

const file: Check = {
  id: 'admin-token.file',
  needs: 'files',
  run(ctx): Result {
    const running = ctx.gateway !== null;
    const replace = running
      ? 'moat doctor --fix rotates the admin token (the old one stops working, the new one is in gateway-token at once)'
      : 'moat doctor --fix writes a new admin token (or moat serve replaces it at boot)';
    switch (ctx.tokenFile) {
      case 'operator':
        return {
          severity: 'ok',
          finding: `the admin token is given with ${ctx.gateway?.adminToken.origin ?? 'an operator setting'}; gateway-token is not used`,
          fix: 'none needed',
        };
      case 'ok':
        return { severity: 'ok', finding: running ? 'gateway-token holds the admin token in use' : 'gateway-token is well-formed', fix: 'none needed' };
      case 'missing':
        if (!running)
          return {
            severity: 'ok',
            finding: 'no gateway-token yet (moat serve creates it, unless an admin token is given with --admin-token)',
            fix: 'none needed',
          };
        return { severity: 'fail', finding: 'gateway-token is missing: the CLI on this host cannot find the admin token', fix: replace, fixable: true };
      case 'malformed':
        return {
          severity: 'fail',
          finding: 'gateway-token is malformed (not moat_ + 43 characters): clients reading it are refused',
          fix: replace,
          fixable: true,
        };
      case 'mismatch':
        return {
          severity: 'fail',
          finding: 'gateway-token holds another token than the admin token in use (edited or restored while moat runs)',
          fix: replace,
          fixable: true,
        };
    }
  },
};

const adminNoExpiry: Check = {
  id: 'tokens.admin-no-expiry',
  needs: 'gateway',
  run(ctx): Result {
    const list = ctx.gateway!.adminTokensWithoutExpiry;
    if (list.length === 0) return { severity: 'ok', finding: 'no token but the admin token holds admin without an expiry', fix: 'none needed' };
    const names = list.map((t) => `${t.name} (${t.id})`).join(', ');
    return {
      severity: 'warn',
      finding: `${list.length} token(s) hold admin and never expire: ${names}`,
      fix: 'give each the narrowest scope and a --ttl: moat token create --name ... --scope ... --ttl 30d, then moat token revoke <name>',
    };
  },
};

export const tokenChecks: Check[] = [strength, age, file, adminNoExpiry];
