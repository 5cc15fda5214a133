/**
 * The console session cookie: its name, its value (256 bits from node:crypto, opaque: no JWT, no
 * data a page or a proxy could read), and its attributes. Reading it takes only the cookie of that
 * exact name. No I/O, no state.
 */
import { randomBytes } from 'node:crypto';

/**
 * Over HTTPS the `__Host-` prefix binds the cookie to this exact host, `Path=/` and `Secure`: no
 * sibling name (a `Domain` cookie), no plain-HTTP page and no other path can set or shadow it
 * (cookie tossing). Both names start with `moat`, so the proxy never forwards them (proxy-headers.ts).
 */
export const SESSION_COOKIE = 'moat_session';
export const SESSION_COOKIE_TLS = '__Host-moat_session';

/** 43 base64url characters (32 bytes); other shapes are never hashed or looked up. */
const VALUE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** At most this many cookies of our name are tried (a page on another port can add more of its own). */
const MAX_VALUES = 4;

/** `https`: the browser reached the gateway over HTTPS (its own TLS or a trusted proxy's). */
export function sessionCookieName(https: boolean): string {
  return https ? SESSION_COOKIE_TLS : SESSION_COOKIE;
}

export function generateSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The well-formed values of the cookie `name` in a Cookie header, in order (RFC 6265 5.4: longer
 * paths first). Several can arrive: another web app on this host (any port: cookies do not separate
 * ports) can set a `moat_session` of its own with a longer Path; each is looked up, none is trusted
 * for being first.
 */
export function sessionCookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined || !header.includes(name)) return [];
  const out: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    if (VALUE_SHAPE.test(value)) out.push(value);
    if (out.length === MAX_VALUES) break;
  }
  return out;
}

/** Whether a Cookie header names the session cookie at all (a cheap test before the CSRF guard). */
export function hasSessionCookie(header: string | undefined, name: string): boolean {
  if (header === undefined || !header.includes(name)) return false;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq >= 0 && pair.slice(0, eq).trim() === name) return true;
  }
  return false;
}

/**
 * Set-Cookie for a new session: HttpOnly (no script reads it, so no XSS can carry it off),
 * SameSite=Strict (no cross-site request carries it), Path=/, and over TLS Secure with the
 * `__Host-` name. Max-Age is the absolute lifetime; the server ends the session itself either way.
 */
export function sessionSetCookie(tls: boolean, value: string, maxAgeSeconds: number): string {
  return `${sessionCookieName(tls)}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`;
}

/** Set-Cookie that removes the session cookie from the browser (sign-out, a dead session). */
export function sessionClearCookie(tls: boolean): string {
  return `${sessionCookieName(tls)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`;
}
