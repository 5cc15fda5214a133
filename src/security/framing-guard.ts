/**
 * Message framing (RFC 9112 6): a request's Transfer-Encoding must be exactly the one coding this
 * server decodes, `chunked`, before any handler runs. Request smuggling: a front proxy and Node can
 * disagree on where a body with `identity, chunked`, `chunked, chunked` or an unknown coding ends,
 * and the bytes one of them takes for the next request are the attacker's. Reads the request only.
 */
import { GatewayError } from '../errors.js';

/** What the framing guard reads: the raw message (Node's IncomingMessage, or Fastify's request.raw). */
export interface FramingRequest {
  readonly headers: { readonly 'transfer-encoding'?: string | undefined };
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
}

/** A token (RFC 9110 5.6.2): a transfer-coding name without parameters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Optional whitespace around list elements (RFC 9110 5.6.1): SP and HTAB only. */
const OWS = /^[ \t]+|[ \t]+$/g;

/** The connection is closed after the refusal: the body's extent is unknown, so nothing after it can be read. */
const CLOSE = { connection: 'close' } as const;

function invalid(detail: string): never {
  throw new GatewayError('transfer_encoding_invalid', detail, { headers: CLOSE });
}

export function framingGuard() {
  function framingGuard(raw: FramingRequest): void {
    const value = raw.headers['transfer-encoding'];
    if (value === undefined) return;
    // HTTP/2 and 3 carry no Transfer-Encoding (RFC 9113 8.2.2): a request that has one is malformed.
    if (raw.httpVersionMajor !== 1) invalid('Transfer-Encoding is not allowed in HTTP/2');
    // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (raw.httpVersionMinor === 0) invalid('Transfer-Encoding is not allowed in HTTP/1.0');
    // Several Transfer-Encoding lines are one list (Node joins them with ", ").
    const codings = value.split(',');
    let chunked = 0;
    let other: string | undefined;
    let last = '';
    for (const element of codings) {
      const coding = element.replace(OWS, '');
      // An empty element (RFC 9110 5.6.1 lets a recipient skip it) is refused: Node's own parser
      // accepts `, chunked` but refuses `chunked,`, and a proxy may do either; no sender needs one.
      if (coding === '') invalid('Transfer-Encoding has an empty element');
      if (!TOKEN.test(coding)) invalid('Transfer-Encoding has a coding with parameters or characters a coding name cannot have');
      // Coding names are case-insensitive (RFC 9112 7), compared as ASCII.
      last = coding.toLowerCase();
      if (last === 'chunked') chunked++;
      else other ??= coding;
    }
    // RFC 9112 7: chunked is never applied twice.
    if (chunked > 1) invalid('Transfer-Encoding names chunked more than once');
    // RFC 9112 6.3: chunked not last means the body's length cannot be known: 400 and close.
    if (last !== 'chunked') invalid('Transfer-Encoding must end with chunked');
    // RFC 9112 6.1: a coding the server does not understand is answered with 501.
    if (other !== undefined) {
      throw new GatewayError(
        'transfer_coding_unsupported',
        `the transfer coding ${JSON.stringify(other.slice(0, 40))} is not supported; send the body with chunked only`,
        { headers: CLOSE },
      );
    }
  }
  return framingGuard;
}
