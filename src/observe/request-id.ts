/**
 * Request ids: every request gets the gateway's own id, made from a random per-process prefix and a
 * counter (unique across restarts, and cheap: it is on every request). A client's X-Request-Id is
 * never the id: a client could give its request the id of someone else's (and so blur whose entry
 * is whose in the audit and the logs). A sane one is kept beside it as `clientRequestId`.
 */
import { randomBytes } from 'node:crypto';

/** Log injection: only short ids of plain characters are taken from the client. */
const SANE = /^[A-Za-z0-9._:-]{1,128}$/;
const PREFIX = randomBytes(6).toString('hex');
let counter = 0;

export function requestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${counter.toString(36)}`;
}

/** The client's X-Request-Id when it is one short id of plain characters; otherwise nothing. */
export function clientRequestId(incoming: string | string[] | undefined): string | undefined {
  return typeof incoming === 'string' && SANE.test(incoming) ? incoming : undefined;
}
