/**
 * Moat-Signature v2, what every signed POST of moat carries (job callbacks, webhook notifications
 * and notices): an HMAC with a key of the receiver, derived from the per-install callback secret and
 * the exact URL the POST goes to. Forged delivery: with one install-wide key, any token that can
 * point a job's callbackUrl at its own server got a signature that a `moat` hook elsewhere accepted;
 * a receiver's key signs for that receiver only. No I/O.
 */
import { createHash, createHmac } from 'node:crypto';
import { hmacSha256Hex } from './hmac.js';

/** Domain separation of receiver keys (a new scheme gets a new label, never a reused one). */
const RECEIVER_KEY_LABEL = 'moat callback receiver v2\n';

/**
 * The receiver a URL names: `<scheme>://<host>[:<port>]<path>` as the WHATWG URL parser (the one the
 * egress client sends with) serialises it: scheme and host lowercased, a default port dropped, dot
 * segments resolved, percent-encodings kept as written; no query and no fragment. Nothing that
 * sends to another place is folded together: two receivers are equal only when the POST goes to the
 * same origin and path. undefined for anything but an absolute http(s) URL without credentials.
 */
export function callbackReceiver(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '' || u.host === '') return undefined;
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * The key of one receiver, as text (43 characters of base64url), used like any hook secret: its
 * UTF-8 bytes are the HMAC key. base64url(HMAC-SHA256(install secret, "moat callback receiver v2\n" + receiver)).
 */
export function receiverKey(installSecret: string, receiver: string): string {
  return createHmac('sha256', installSecret).update(RECEIVER_KEY_LABEL).update(receiver).digest('base64url');
}

/** `t=<unix>,v2=<hex HMAC-SHA256(receiver key, "<t>.<raw body>")>` for `rawBody` POSTed to `url`. */
export function callbackSignature(installSecret: string, url: string, rawBody: string | Buffer, unixSeconds: number): string {
  const key = receiverKey(installSecret, callbackReceiver(url) ?? url);
  return `t=${unixSeconds},v2=${hmacSha256Hex(key, `${unixSeconds}.`, rawBody)}`;
}

/** What the audit says of a receiver: its origin, and a digest that confirms a URL without showing its path. */
export function receiverFacts(receiver: string): { origin: string; receiverSha256: string } {
  return { origin: new URL(receiver).origin, receiverSha256: createHash('sha256').update(receiver).digest('hex').slice(0, 16) };
}
