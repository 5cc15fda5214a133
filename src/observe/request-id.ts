/**
 * Request ids: a client's sane X-Request-Id is echoed; otherwise an id is made from a random
 * per-process prefix and a counter (unique across restarts, and cheap: it is on every request).
 */
import { randomBytes } from 'node:crypto';

/** Log injection: only short ids of plain characters are taken from the client. */
const SANE = /^[A-Za-z0-9._:-]{1,128}$/;
const PREFIX = randomBytes(6).toString('hex');
let counter = 0;

export function requestId(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && SANE.test(incoming)) return incoming;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${counter.toString(36)}`;
}
