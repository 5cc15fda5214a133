/**
 * Requests Node's HTTP/1.1 server refuses before any route sees them (its 'clientError'): a header
 * block over limits.maxHeaderBytes (431), a request the parser refuses (400), headers or a request
 * too slow (slowloris, 408). Answers with a problem document on the raw socket, with the security
 * headers and an X-Request-Id like every response, then closes it; the pipeline logs and audits.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../observe/logger.js';
import { requestId } from '../observe/request-id.js';
import { normaliseAddress } from '../security/client-ip.js';
import type { Pipeline } from './pipeline.js';
import { clientErrorProblem, rawProblemResponse } from './problem.js';

export interface ClientErrorOptions {
  pipeline: Pipeline;
  log: Logger;
}

/** The response a request is being answered with, if any (Node's own check reads the same field). */
type ServerSocket = Socket & { _httpMessage?: { headersSent?: boolean } | null };

/** Fastify's clientErrorHandler (the listener of the Node server's 'clientError'). */
export function clientErrorHandler(opts: ClientErrorOptions) {
  return function clientErrorHandler(error: Error & { code?: unknown }, socket: ServerSocket): void {
    const code = typeof error.code === 'string' ? error.code : '';
    // Not a refused request but a failed connection (ECONNRESET, EPIPE, a TLS error), or a socket
    // already gone: there is nobody to answer.
    if (socket.destroyed || !(code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT')) {
      opts.log.debug({ code }, 'client connection failed');
      socket.destroy();
      return;
    }
    const err = clientErrorProblem(error);
    const id = requestId();
    const client = normaliseAddress(socket.remoteAddress ?? '');
    if (err.code === 'request_timeout' && socket.bytesRead === 0) {
      // A connection that never sent a byte (a browser's preconnect, a port check): answered like the
      // others, but not a refusal worth a warning or an audit entry.
      opts.log.debug({ reqId: id, client }, 'closed a connection that sent nothing within limits.headersTimeoutMs');
    } else {
      opts.pipeline.onUnreadable(err, id, client);
    }
    // Never write into a response that has begun (the peer would read a corrupt stream): then only close.
    if (socket.writable && !socket._httpMessage?.headersSent) socket.write(rawProblemResponse(err, id, opts.pipeline.baseHeaders));
    // Closed at once, as Node does: the parser cannot go on after an error, nor should the connection.
    socket.destroy();
  };
}
