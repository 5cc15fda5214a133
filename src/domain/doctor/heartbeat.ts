/**
 * The security heartbeat: at boot and every heartbeatInterval (seconds), one line
 * `MOAT_SECURITY bind=<addr>(<class>) tls=<on|off> auth=<on|off> authFailures24h=<n> lockouts24h=<n> doctor=<ok|warn|fail>`
 * in the log (info, as the message) and in the audit (security.heartbeat), and a notice when the
 * verdict is worse than the previous heartbeat's (the first one compares with ok). One lifecycle.
 */
import type { AuditSink } from '../../audit/event.js';
import type { Logger } from '../../observe/logger.js';
import { severityRank } from './index.js';
import type { SecurityNotice } from './notify.js';
import type { DoctorReport, Severity } from './types.js';

export interface HeartbeatOptions {
  intervalMs: number;
  doctor(): Promise<DoctorReport>;
  posture(): { bind: string; bindClass: string; tls: boolean; auth: boolean };
  activity(): { authFailures24h: number; lockouts24h: number };
  log: Logger;
  audit: AuditSink;
  notify(notice: SecurityNotice): Promise<unknown>;
}

export interface HeartbeatFields {
  bind: string;
  bindClass: string;
  tls: boolean;
  auth: boolean;
  authFailures24h: number;
  lockouts24h: number;
  doctor: Severity;
}

export function heartbeatLine(f: HeartbeatFields): string {
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  return `MOAT_SECURITY bind=${f.bind}(${f.bindClass}) tls=${onOff(f.tls)} auth=${onOff(f.auth)} authFailures24h=${f.authFailures24h} lockouts24h=${f.lockouts24h} doctor=${f.doctor}`;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<unknown> | null = null;
  private notifying: Promise<unknown> | null = null;
  private previous: Severity = 'ok';
  private stopped = false;
  /** The verdict of the last heartbeat (metrics), null before the first. */
  lastVerdict: Severity | null = null;

  constructor(private readonly opts: HeartbeatOptions) {}

  /**
   * Beats now and on every interval; resolves when the first line is logged and audited (so that it
   * comes right after the boot record, before anything a client does). Notices are sent meanwhile.
   */
  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.trigger(), this.opts.intervalMs);
    this.timer.unref();
    this.trigger();
    await this.beating;
  }

  /** One beat, unless one is still running (a slow audit walk never stacks up). */
  private trigger(): void {
    if (this.beating || this.stopped) return;
    this.beating = this.beat()
      .catch((err: unknown) => this.opts.log.error({ err }, 'heartbeat failed'))
      .finally(() => {
        this.beating = null;
      });
  }

  private async beat(): Promise<void> {
    const report = await this.opts.doctor();
    if (this.stopped) return;
    const fields: HeartbeatFields = { ...this.opts.posture(), ...this.opts.activity(), doctor: report.verdict };
    const line = heartbeatLine(fields);
    const notOk = report.checks.filter((c) => c.severity !== 'ok').map((c) => `${c.id}:${c.severity}`);
    this.opts.log.info({ heartbeat: { ...fields, notOk } }, line);
    this.opts.audit.record({ type: 'security.heartbeat', outcome: 'ok', detail: { line, ...fields, notOk } });
    const previous = this.previous;
    this.previous = report.verdict;
    this.lastVerdict = report.verdict;
    if (severityRank(report.verdict) > severityRank(previous)) {
      const sent = this.opts
        .notify({ line, verdict: report.verdict, previous, notOk })
        .catch((err: unknown) => this.opts.log.warn({ err }, 'security notice failed'));
      this.notifying = Promise.all([this.notifying, sent]);
    }
  }

  /** Stops the timer and waits for a beat and notices in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.notifying;
  }
}
