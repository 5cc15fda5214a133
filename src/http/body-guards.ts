/**
 * What a request body must get past before a route sees it. JSON bodies: the nesting depth is
 * checked on the text before it is parsed (limits.maxJsonDepth; stack exhaustion), then Fastify's own
 * parser (prototype poisoning refused) runs. Routes without a bearer token: a body that sends nothing
 * for limits.bodyIdleTimeoutMs is cut off with 408 (slow bodies, sent before any signature can be
 * checked, must not hold their slots until limits.requestTimeoutMs). Routes whose cap follows a live
 * key: the cap in force when the request comes is applied as the body is read.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import { checkJsonDepth } from '../crypto/json-depth.js';

/** Replaces the JSON parser of `app` with one that checks the depth first (every scope inherits it). */
export function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, function depthCheckedJson(req, body, done) {
    try {
      checkJsonDepth(body as string, maxDepth);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parse(req, body as string, done);
  });
}

/** Whether a request declares a body (HTTP/1.1 length or chunking; an HTTP/2 stream not ended with its headers). */
function hasBody(raw: IncomingMessage): boolean {
  if (raw.httpVersionMajor === 2) return (raw as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  const len = raw.headers['content-length'];
  return (len !== undefined && len !== '0') || raw.headers['transfer-encoding'] !== undefined;
}

/**
 * A preParsing hook: the body passes through as it is, and a pause of `idleMs` without a byte ends
 * it with 408 request_timeout (and the connection, so the rest is never read). Armed only for a
 * request that has a body.
 */
export function bodyIdleTimeout(idleMs: number) {
  return function bodyIdleTimeout(req: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, body?: Readable) => void): void {
    if (!hasBody(req.raw)) {
      done(null, payload);
      return;
    }
    const out = new PassThrough();
    const timer = setTimeout(() => {
      payload.unpipe(out);
      const headers: Record<string, string> = req.raw.httpVersionMajor === 1 ? { connection: 'close' } : {};
      out.destroy(new GatewayError('request_timeout', `the body sent nothing for ${idleMs} ms`, { headers }));
    }, idleMs);
    const stop = () => clearTimeout(timer);
    payload.on('data', () => timer.refresh());
    payload.once('end', stop);
    payload.once('close', stop);
    payload.once('error', (err) => {
      stop();
      out.destroy(err);
    });
    out.once('close', stop);
    payload.pipe(out);
    done(null, out);
  };
}

/**
 * A preParsing hook: the body cap in force now (`limit()`, read per request: it follows a live key),
 * under the route's static `bodyLimit`, which stays as the ceiling. Memory exhaustion: a declared
 * Content-Length over the cap is refused before a byte is read, and a chunked or HTTP/2 body is cut
 * off at the first chunk past it, with 413 body_too_large as Fastify's own cap answers (the
 * connection closed on HTTP/1.1, so the rest is never read).
 */
export function liveBodyLimit(limit: () => number) {
  return function liveBodyLimit(req: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, body?: Readable) => void): void {
    const max = limit();
    const tooLarge = () => new GatewayError('body_too_large', undefined, { headers: req.raw.httpVersionMajor === 1 ? { connection: 'close' } : {} });
    if (Number(req.headers['content-length']) > max) {
      done(tooLarge());
      return;
    }
    let seen = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        cb(seen > max ? tooLarge() : null, seen > max ? undefined : chunk);
      },
    });
    payload.once('error', (err) => counted.destroy(err));
    payload.pipe(counted);
    done(null, counted);
  };
}
