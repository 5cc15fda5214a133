/**
 * The one place errors become HTTP: RFC 9457 application/problem+json with status, title, detail,
 * a stable code and the requestId. Fastify's own errors and Node's HTTP parser errors are mapped to
 * codes from the table; an unknown error becomes 500 `internal` and its message is never echoed (it
 * goes to the log). Also renders a problem as a whole HTTP/1.1 response for a raw socket.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, GatewayError, isGatewayError, type ErrorCode } from '../errors.js';
import { describeValidation, type AjvLikeError } from './validation-detail.js';

export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  [extra: string]: unknown;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'json_invalid',
  FST_ERR_CTP_INVALID_JSON_BODY: 'json_invalid',
  FST_ERR_NOT_FOUND: 'not_found',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
};

/**
 * A schema's refusal as 400 `validation_failed`, naming at most 20 problems. Also Fastify's
 * schemaErrorFormatter: the refusal is built once, as what it becomes, not first as Fastify's error.
 */
export function validationError(validation: AjvLikeError[], context: string): GatewayError {
  const errors = describeValidation(context, validation).slice(0, 20);
  return new GatewayError('validation_failed', errors.map((x) => `${x.path} ${x.message}`).join('; '), { extra: { errors } });
}

/** Turns anything thrown into a GatewayError whose detail is safe to show. */
export function toGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  const e = err as Partial<FastifyError> & { validation?: AjvLikeError[]; validationContext?: string };
  if (Array.isArray(e.validation)) return validationError(e.validation, e.validationContext ?? 'body');
  const mapped = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new GatewayError(mapped, mapped === 'json_invalid' ? 'the body is not valid JSON' : ERRORS[mapped].title);
  // secure-json-parse raises SyntaxError with statusCode 400 for a broken body.
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) return new GatewayError('json_invalid', 'the body is not valid JSON');
  // Node and Fastify mark client-side failures (an aborted upload, a bad header) with a 4xx statusCode.
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new GatewayError('bad_request', 'the request could not be read (aborted or malformed)', { cause: err });
  }
  return new GatewayError('internal', 'internal error; the request id is in the log', { cause: err });
}

/**
 * Why Node's HTTP/1.1 parser (llhttp) refused a request, in words safe to show: its own message is
 * never echoed. Request smuggling (RFC 9112 6.3): a duplicate or invalid Content-Length and a bad
 * Transfer-Encoding are refused by the parser, never guessed at.
 */
const PARSE_REASONS: Record<string, string> = {
  HPE_INVALID_METHOD: 'malformed request line',
  HPE_INVALID_URL: 'malformed request line',
  HPE_INVALID_VERSION: 'malformed request line',
  HPE_INVALID_CONSTANT: 'malformed request line',
  HPE_INVALID_HEADER_TOKEN: 'malformed header',
  HPE_INVALID_CONTENT_LENGTH: 'invalid Content-Length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'duplicate or conflicting Content-Length, or Content-Length with Transfer-Encoding',
  HPE_INVALID_TRANSFER_ENCODING: 'invalid Transfer-Encoding',
  HPE_INVALID_CHUNK_SIZE: 'malformed chunked body',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'malformed chunked body',
  HPE_CR_EXPECTED: 'bad line ending',
  HPE_LF_EXPECTED: 'bad line ending',
  HPE_STRICT: 'bad line ending',
};

/** A request Node refused while reading it (its 'clientError'): 408, 431 or 400, never its message. */
export function clientErrorProblem(err: { code?: unknown }): GatewayError {
  const code = typeof err.code === 'string' ? err.code : '';
  // Slowloris: the headers (limits.headersTimeoutMs) or the whole request (limits.requestTimeoutMs) came too slowly.
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new GatewayError('request_timeout', 'the request was not received in time');
  if (code === 'HPE_HEADER_OVERFLOW') return new GatewayError('headers_too_large', 'the request headers are larger than limits.maxHeaderBytes');
  return new GatewayError('bad_request', `the request is not valid HTTP/1.1: ${PARSE_REASONS[code] ?? 'it could not be parsed'}`);
}

export function problemBody(err: GatewayError, requestId: string): Problem {
  return {
    type: `urn:moat:problem:${err.code}`,
    title: ERRORS[err.code].title,
    status: err.status,
    detail: err.detail,
    code: err.code,
    requestId,
    ...err.extra,
  };
}

export function sendProblem(reply: FastifyReply, err: GatewayError, requestId: string): void {
  if (err.headers) reply.headers(err.headers);
  reply.code(err.status).type(PROBLEM_TYPE).send(problemBody(err, requestId));
}

/**
 * A problem as a complete HTTP/1.1 response, for a socket no response object owns (a refused
 * upgrade, a request the parser refused). It always closes the connection.
 */
export function rawProblemResponse(err: GatewayError, requestId: string, headers: Readonly<Record<string, string>>): string {
  const body = JSON.stringify(problemBody(err, requestId));
  const all: Record<string, string> = {
    ...headers,
    ...err.headers,
    'x-request-id': requestId,
    'content-type': PROBLEM_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const head = [`HTTP/1.1 ${err.status} ${ERRORS[err.code].title}`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return `${head}\r\n\r\n${body}`;
}

export interface ProblemHandlerOptions {
  /** Called for every refusal and failure before the reply (log, lockout, audit). */
  onProblem(req: FastifyRequest, reply: FastifyReply, err: GatewayError, original: unknown): void;
}

export function problemHandler(opts: ProblemHandlerOptions) {
  return function problemHandler(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
    const err = toGatewayError(error);
    opts.onProblem(req, reply, err, error);
    sendProblem(reply, err, req.id);
  };
}
