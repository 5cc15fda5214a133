/**
 * The size and time caps of one outbound request: a deadline over the whole exchange (resolution,
 * connect, every hop, the whole body) and a body reader that stops at maxBytes. A slow or endless
 * upstream body (slowloris in reverse, a gigabyte JSON) is cut off, never buffered.
 */
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';

/** One timer for the whole request; its signal aborts whatever is in flight. */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private expired = false;

  constructor(readonly ms: number) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new Error(`deadline of ${ms} ms passed`));
    }, ms);
  }

  get timedOut(): boolean {
    return this.expired;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

export class TooLarge extends Error {
  override readonly name = 'TooLarge';
  constructor(readonly maxBytes: number) {
    super(`response body over ${maxBytes} bytes`);
  }
}

/** Reads the body up to maxBytes; refuses a larger Content-Length before reading a byte. */
export async function readCapped(res: Dispatcher.ResponseData, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.body.destroy();
    throw new TooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      res.body.destroy();
      throw new TooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Throws away a redirect's body without reading more than a little of it. */
export async function discard(res: Dispatcher.ResponseData): Promise<void> {
  try {
    await res.body.dump({ limit: 65_536 });
  } catch {
    res.body.destroy();
  }
}

/** `purpose` is an egress purpose or `service`; `knob` names the setting that set the cap. */
export function tooLargeError(purpose: string, host: string | null, maxBytes: number, knob: string): GatewayError {
  return new GatewayError('egress_too_large', `the response from ${host ?? 'upstream'} is larger than ${maxBytes} bytes (${knob})`, {
    extra: { reason: 'too_large', purpose },
  });
}

export function timeoutError(purpose: string, host: string | null, ms: number, knob: string): GatewayError {
  return new GatewayError('egress_timeout', `the request to ${host ?? 'upstream'} did not complete in ${ms} ms (${knob})`, {
    extra: { reason: 'timeout', purpose },
  });
}
