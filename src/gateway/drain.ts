/**
 * The drain of a stopping gateway: event streams end (clients reconnect elsewhere); then for up to
 * the window the listener stays open (new requests hear 503 draining), requests already admitted
 * finish and the running jobs get the same window (none is claimed any more). Says what finished
 * and what is left to cut. Closing the listener is the http part's stop, after this.
 */
import type { JobsModule } from '../domain/jobs/module.js';
import type { Listener } from '../http/server.js';
import type { Logger } from '../observe/logger.js';

export interface DrainSummary {
  /** Nothing was cut: every admitted request and every running job finished in the window. */
  drained: boolean;
  requests: { finished: number; cut: number };
  jobs: { finished: number; rerun: number };
}

export interface DrainContext {
  listener: Listener;
  jobs: Pick<JobsModule, 'drain'>;
  /** Closers of the open event streams (SSE, WebSocket). */
  streams: ReadonlySet<() => void>;
  windowMs: number;
  log: Logger;
}

export async function drain(ctx: DrainContext): Promise<DrainSummary> {
  // Event streams never finish on their own: they end now, and clients reconnect elsewhere.
  for (const close of [...ctx.streams]) close();
  const [requests, jobs] = await Promise.all([ctx.listener.drain(ctx.windowMs), ctx.jobs.drain(ctx.windowMs)]);
  const drained = requests.cut === 0 && jobs.rerun === 0;
  ctx.log[drained ? 'info' : 'warn'](
    { requests, jobs },
    `drain ${drained ? 'done' : 'timeout: closing remaining connections'}: ${requests.finished} requests and ${jobs.finished} jobs finished; ${requests.cut} requests cut, ${jobs.rerun} jobs will re-run after the restart`,
  );
  return { drained, requests, jobs };
}
