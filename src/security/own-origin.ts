/**
 * The gateway's own origin as a request names it: scheme (TLS at the listener, or at a trusted proxy
 * in front of it) and the authority the client used (`:authority` in HTTP/2, else Host), which the
 * host guard has already allowed. Pure.
 */
import type { AddressedRequest } from './client-ip.js';

/** Whether the client reached the gateway over HTTPS (its own TLS, or a trusted proxy's: client-ip.ts). */
export type IsHttps = (req: AddressedRequest) => boolean;

/**
 * HTTPS at the listener, or at a trusted proxy in front of it that says so (X-Forwarded-Proto: https,
 * believed from trustedProxies only): a gateway on loopback behind nginx/Caddy serves the console
 * on an https origin, with a `__Host-` Secure cookie.
 */
export function isHttps(tls: boolean, proxy: { forwardedHttps(req: AddressedRequest): boolean }): IsHttps {
  return tls ? () => true : (req) => proxy.forwardedHttps(req);
}

/** `http(s)://<authority>` in lowercase, or undefined when the request names no authority. */
export function ownOrigin(
  req: { readonly headers: { readonly host?: string | undefined; readonly ':authority'?: string | string[] | undefined } },
  https: boolean,
): string | undefined {
  const authority = (req.headers[':authority'] as string | undefined) ?? req.headers.host;
  if (authority === undefined || authority === '') return undefined;
  return `${https ? 'https' : 'http'}://${authority.toLowerCase()}`;
}
