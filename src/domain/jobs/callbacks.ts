/**
 * Callbacks and notifications when a job finishes. A callback is a POST of the job's outcome to
 * its callbackUrl, signed `Moat-Signature: t=<unix>,v2=<HMAC-SHA256 of "<t>.<raw body>">` with the
 * key of that URL's receiver (crypto/callback-signing.ts), sent through the egress guard (purpose
 * callback), retried with backoff; every attempt is recorded on the job. Notifications (ntfy, a
 * signed webhook) carry the job id, service and state only: never a payload, a result or a secret.
 */
import type { Config } from '../../config/schema.js';
import type { AuditSink } from '../../audit/event.js';
import type { Logger } from '../../observe/logger.js';
import { callbackSignature } from '../../crypto/callback-signing.js';
import { MOAT_SIGNATURE_HEADER } from '../../crypto/hmac.js';
import type { JobRecord, JobStore } from '../../store/types.js';
import { ntfyToken } from './ntfy-topic.js';
import type { OutboundPort } from './ports.js';
import type { JobService } from './queue.js';

export interface CallbackOptions {
  store: JobStore;
  jobs: JobService;
  outbound: OutboundPort;
  secret: () => string;
  audit: AuditSink;
  log: Logger;
  config: () => Readonly<Config>;
  now?: () => number;
}

const MAX_DELAY_MS = 600_000;

export class Callbacks {
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly opts: CallbackOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Resumes deliveries that a previous run of the gateway did not finish. */
  start(): void {
    this.stopped = false;
    for (const job of this.opts.store.pendingCallbacks(this.opts.config().callbacks.maxAttempts))
      this.deliver(job, this.opts.store.callbacks(job.id).length + 1);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** A job finished: send its callback (if any) and its notifications (if asked). */
  finished(job: JobRecord): void {
    if (job.callback !== null) this.deliver(job, 1);
    if (job.notify && job.notify.length > 0) void this.notify(job);
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private deliver(job: JobRecord, attempt: number): void {
    let url: string | null;
    try {
      url = this.opts.jobs.callbackUrl(job);
    } catch {
      // Sealed under another install key: nowhere to send it, ever.
      this.opts.log.warn({ job: job.id }, 'callback URL cannot be opened (sealed under another key); not delivered');
      return;
    }
    if (url === null) return;
    // The callback goes where the submitter asked: it carries what the job's owner may see.
    const view = this.opts.jobs.view(job, { id: job.owner ?? '', all: true }, false);
    const body = JSON.stringify({
      type: 'job.finished',
      job: {
        id: view.id,
        service: view.service,
        state: view.state,
        attempts: view.attempts,
        finishedAt: view.finishedAt,
        ...(view.result !== undefined ? { result: view.result } : {}),
        error: view.error ?? null,
      },
    });
    const t = Math.floor(this.now() / 1000);
    void this.opts.outbound
      .request({
        url,
        purpose: 'callback',
        method: 'POST',
        headers: { 'content-type': 'application/json', [MOAT_SIGNATURE_HEADER]: callbackSignature(this.opts.secret(), url, body, t), 'moat-job-id': job.id },
        body,
      })
      .then(
        (res) => this.recorded(job, attempt, res.status, res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`),
        (err: unknown) => this.recorded(job, attempt, null, (err as { code?: string }).code ?? (err as Error).message ?? 'failed'),
      );
  }

  private recorded(job: JobRecord, attempt: number, status: number | null, error: string | null): void {
    if (this.stopped) return;
    this.opts.store.recordCallback(job.id, { attempt, at: this.now(), status, error });
    if (error === null) return;
    const cfg = this.opts.config().callbacks;
    if (error === 'egress_denied' || attempt >= cfg.maxAttempts) {
      this.opts.log.warn({ job: job.id, attempt, error }, 'callback not delivered; giving up');
      this.opts.audit.record({
        type: 'callback.failed',
        outcome: error === 'egress_denied' ? 'blocked' : 'error',
        detail: { jobId: job.id, attempts: attempt, error },
      });
      return;
    }
    this.later(() => this.deliver(job, attempt + 1), Math.min(cfg.retryBaseMs * 2 ** (attempt - 1), MAX_DELAY_MS));
  }

  private async notify(job: JobRecord): Promise<void> {
    const { ntfy, webhook } = this.opts.config().notifications;
    const message = { type: 'job.finished', id: job.id, service: job.service, state: job.state };
    const sends: Array<Promise<unknown>> = [];
    if (ntfy && job.notify?.includes('ntfy') && (ntfy.on ?? ['succeeded', 'failed', 'canceled']).includes(job.state as 'succeeded')) {
      // Read at each notification: a rotated token file is used at once (a file opened to others is refused).
      let token: string | undefined;
      let unreadable: unknown;
      try {
        token = ntfyToken(ntfy);
      } catch (err) {
        unreadable = err;
      }
      sends.push(
        unreadable !== undefined
          ? Promise.reject(unreadable as Error)
          : this.opts.outbound.request({
              url: `${ntfy.url.replace(/\/$/, '')}/${encodeURIComponent(ntfy.topic)}`,
              purpose: 'notify',
              method: 'POST',
              headers: {
                title: `moat: job ${job.state}`,
                tags: job.state === 'succeeded' ? 'white_check_mark' : 'warning',
                ...(token ? { authorization: `Bearer ${token}` } : {}),
              },
              body: `job ${job.id} on ${job.service}: ${job.state}`,
            }),
      );
    }
    if (webhook && job.notify?.includes('webhook')) {
      const body = JSON.stringify(message);
      sends.push(
        this.opts.outbound.request({
          url: webhook.url,
          purpose: 'notify',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [MOAT_SIGNATURE_HEADER]: callbackSignature(this.opts.secret(), webhook.url, body, Math.floor(this.now() / 1000)),
          },
          body,
        }),
      );
    }
    for (const r of await Promise.allSettled(sends)) {
      if (r.status === 'rejected')
        this.opts.log.warn({ job: job.id, error: (r.reason as { code?: string }).code ?? String(r.reason) }, 'notification not delivered');
    }
  }
}
