/**
 * The path a proxied request is forwarded with: parsed out of the request target and rebuilt from
 * its segments, never passed on verbatim. Pure functions; no I/O.
 *
 * Path confusion between the gateway and a service: whatever the gateway lets through, the service
 * may read another way, and land outside the base path the operator put it under, or on a route
 * the gateway never saw. So every spelling on which two parsers may disagree is refused:
 * - dot segments, plain, percent-encoded or with path parameters (`..;/`: Tomcat and other Java
 *   servers drop `;...` and then resolve `..`);
 * - empty segments (`//x`: some routers collapse them, others read `//host` as an authority);
 * - separators in a segment, encoded (`%2f`, `%5c`) or raw `\` (WHATWG URL and IIS-style servers
 *   read `\` as `/`);
 * - double encoding (`%252e%252e`: a service that decodes once more sees `%2e%2e`, then `..`);
 * - control characters, raw or encoded (`%00` truncates paths in C-backed servers);
 * - anything but origin-form (`GET http://other/...`, authority- or asterisk-form) and fragments.
 */
import { GatewayError } from '../../errors.js';

const refuse = (why: string): never => {
  throw new GatewayError('path_not_allowed', `the path is not forwarded: ${why}`);
};

const HEX = /^[0-9a-f]{2}$/i;

/** What a percent-escape (two hex digits) decodes to that the path must never carry. */
function refusedEscape(hex: string): string | null {
  const byte = Number.parseInt(hex, 16);
  if (byte === 0x2f || byte === 0x5c) return 'an encoded / or \\';
  if (byte < 0x20 || byte === 0x7f) return 'an encoded control character';
  return null;
}

/** A segment is a dot segment when it is `.` or `..` once decoded, even with `;params` after it. */
function isDotSegment(segment: string): boolean {
  const bare = segment.split(';', 1)[0] as string;
  const decoded = bare.replace(/%2e/gi, '.');
  return decoded === '.' || decoded === '..';
}

/** Checks one segment below the service (throws path_not_allowed). */
function checkSegment(segment: string, last: boolean): void {
  if (segment === '') {
    if (!last) refuse('an empty segment (//)');
    return;
  }
  if (isDotSegment(segment)) refuse('a dot segment (., .., also encoded or with ;parameters)');
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x5c) refuse('a backslash');
    if (c < 0x21 || c === 0x7f) refuse('a control character or space');
    if (c !== 0x25) continue;
    const hex = segment.slice(i + 1, i + 3);
    if (!HEX.test(hex)) refuse('a malformed percent-escape');
    const why = refusedEscape(hex);
    if (why !== null) refuse(why);
    i += 2;
  }
  // Decoded once, a segment must not hold another escape: `%252e` is `%2e` to a service that
  // decodes twice. A literal % (`100%25off`) is fine: what follows it is not an escape.
  if (segment.includes('%') && /%[0-9a-f]{2}/i.test(decodeOnce(segment))) refuse('a double-encoded character (%25xx)');
}

/** Percent-decodes `segment` once, byte by byte (enough to see what a second decoding would find). */
function decodeOnce(segment: string): string {
  return segment.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * The path and query below `/svc/<service>` of `target` (the request target as received), starting
 * with `/` (`/svc/x` and `/svc/x/` both give `/`). `service` is a registered name (the registry
 * checked it). Throws `path_not_allowed` for every spelling listed above, and when the target does
 * not name `service` plainly (`/svc/%78/` for `x`: the router decodes, the prefix must not need it).
 */
export function proxyPath(target: string, service: string): string {
  if (target.charCodeAt(0) !== 47 /* / */) refuse('only origin-form request targets (/svc/<name>/...) are forwarded');
  if (target.includes('#')) refuse('a fragment');
  const q = target.indexOf('?');
  const end = q < 0 ? target.length : q;
  const prefixEnd = 5 + service.length;
  if (!target.startsWith('/svc/') || !target.startsWith(service, 5) || (end > prefixEnd && target.charCodeAt(prefixEnd) !== 47))
    refuse(`the prefix must be /svc/${service}/ as is`);
  if (end <= prefixEnd + 1) return q < 0 ? '/' : `/${target.slice(q)}`;
  // Most paths (`/v1/chat/completions`) hold nothing any rule above is about: sent as they are.
  if (plain(target, prefixEnd, end)) return target.slice(prefixEnd);
  const path = target.slice(0, end);
  const query = q < 0 ? '' : target.slice(q);
  const segments = path.slice(prefixEnd + 1).split('/');
  for (let i = 0; i < segments.length; i++) checkSegment(segments[i] as string, i === segments.length - 1);
  return `/${segments.join('/')}${query}`;
}

/**
 * Whether target[from, end) (starting with `/`) is made of plain segments only: letters, digits,
 * `-` `_` `~` and `.`, no empty segment but the last, no segment of dots only. Anything else
 * (`%`, `;`, `\`, controls, other punctuation, non-ASCII) takes the full check above.
 */
function plain(target: string, from: number, end: number): boolean {
  let start = from + 1;
  let dotsOnly = true;
  for (let i = start; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === 47 /* / */) {
      if (i === start || dotsOnly) return false;
      start = i + 1;
      dotsOnly = true;
    } else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 126) {
      dotsOnly = false;
    } else if (c !== 46 /* . */) {
      return false;
    }
  }
  // The last segment may be empty (`/a/`), not dots only (`/a/..`).
  return start === end || !dotsOnly;
}
