/**
 * Cap on requests handled at once (and on open event streams). Resource exhaustion: past the cap a
 * request is refused with 503 and Retry-After instead of queueing without bound.
 */
import { GatewayError } from '../errors.js';

export interface InflightLimitOptions {
  maxInflight: number;
  maxStreams: number;
}

export function inflightLimit(initial: InflightLimitOptions) {
  let opts = { ...initial };
  let inflight = 0;
  let streams = 0;
  /** Responses that became event streams: counted as streams, no longer as requests. */
  const detached = new WeakSet<object>();

  /** Throws 503 overloaded when more requests are in flight than allowed (this one included). */
  function inflightLimit(): void {
    if (inflight > opts.maxInflight) {
      throw new GatewayError('overloaded', `more than ${opts.maxInflight} requests in flight`, { headers: { 'retry-after': '1' } });
    }
  }

  return Object.assign(inflightLimit, {
    /** Called by the listener when a request arrives; `leave` when its response closes (once). */
    enter(): void {
      inflight++;
    },
    /** The response's 'close' listener (`this` is the response). */
    leave(this: unknown): void {
      if (typeof this === 'object' && this !== null && detached.has(this)) return;
      inflight--;
    },
    /**
     * Opens a stream slot (maxStreams); throws 503 too_many_streams when full. Given the response of
     * a request that becomes an event stream, that request stops counting against maxInflight.
     * (A WebSocket upgrade never counted as a request in flight.)
     */
    openStream(res?: object): () => void {
      if (streams >= opts.maxStreams) {
        throw new GatewayError('too_many_streams', `more than ${opts.maxStreams} event streams open`, { headers: { 'retry-after': '5' } });
      }
      if (res !== undefined && !detached.has(res)) {
        detached.add(res);
        inflight--;
      }
      streams++;
      let done = false;
      return () => {
        if (!done) {
          done = true;
          streams--;
        }
      };
    },
    /** Requests in flight now. (Methods, not getters: Object.assign would copy a getter's value.) */
    inflightCount(): number {
      return inflight;
    },
    streamCount(): number {
      return streams;
    },
    reconfigure(next: InflightLimitOptions): void {
      opts = { ...next };
    },
  });
}

export type InflightLimit = ReturnType<typeof inflightLimit>;
