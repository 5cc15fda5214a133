/** Request ids: a client's sane X-Request-Id is echoed, anything else gets a fresh random UUID. */
import { randomUUID } from 'node:crypto';

/** Log injection: only short ids of plain characters are taken from the client. */
const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE.test(incoming) ? incoming : randomUUID();
}
