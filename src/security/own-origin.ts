/**
 * The gateway's own origin as a request names it: scheme (TLS or not) and the authority the client
 * used (`:authority` in HTTP/2, else Host), which the host guard has already allowed. Pure.
 */
import type { FastifyRequest } from 'fastify';

/** `http(s)://<authority>` in lowercase, or undefined when the request names no authority. */
export function ownOrigin(req: Pick<FastifyRequest, 'headers'>, tls: boolean): string | undefined {
  const authority = (req.headers[':authority'] as string | undefined) ?? req.headers.host;
  if (authority === undefined || authority === '') return undefined;
  return `${tls ? 'https' : 'http'}://${authority.toLowerCase()}`;
}
