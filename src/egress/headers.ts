/**
 * Header hygiene of outbound requests: the caller's headers minus the ones that would let it steer
 * the connection (Host for virtual-host confusion, hop-by-hop and framing headers for request
 * smuggling), and response headers flattened to strings. No I/O.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Set by undici from the URL and the body, or hop-by-hop (RFC 9110 7.6.1): never from a caller. */
const CONNECTION_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'content-length',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

export const USER_AGENT = 'moat-egress/1';

export function outboundHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(headers ?? {})) {
    const n = name.toLowerCase();
    if (CONNECTION_HEADERS.has(n) || n.startsWith('proxy-')) continue;
    out[n] = String(value);
  }
  return out;
}

export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
