/**
 * The record as one part: the main chain (every entry), the security chain beside it (security
 * events again, with their own retention, so that floods cannot prune them), refusal counting,
 * and the head anchors published outside the data dir at boot, at an interval and at stop. One
 * lifecycle: constructor without side effects, start(), idempotent stop(). Also verifies the whole
 * record (both chains, the anchors) for the API, the CLI and doctor.
 */
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../observe/logger.js';
import { anchorPoints, appendAnchor, makeAnchor, readAnchors, type HeadAnchor } from './anchors.js';
import type { ChainHead } from './chain.js';
import type { AuditEvent, AuditSink } from './event.js';
import type { ChainKey } from './key.js';
import { RefusalAggregator } from './refusals.js';
import { isSecurityEvent } from './security-events.js';
import { verifyAudit, type VerifyResult } from './verify.js';
import { AuditLog } from './writer.js';
import { AUDIT_SECURITY, dataDirPaths } from '../api/data-dir.js';

export interface AuditRecordOptions {
  /** <dataDir>/audit: the main chain; the security chain is its `security/` directory. */
  dir: string;
  dataDir: string;
  key: ChainKey;
  keyFile: string;
  /** The key file was created by this start (recorded as audit.key_created). */
  keyCreated: boolean;
  anchorFile: string;
  rotateBytes: number;
  keep: number;
  securityKeep: number;
  maxQueue: number;
  refusalWindowMs: number;
  refusalMaxKeys: number;
  anchorIntervalMs: number;
  log: Logger;
  now: () => number;
  /** Sends an anchor to the notifier (when configured); never throws. */
  notify?: ((anchor: HeadAnchor) => Promise<void>) | undefined;
}

/** A data dir as anchors name it: its real path (one anchor file may serve several gateways). */
export function anchorDataDir(dataDir: string): string {
  try {
    return realpathSync(dataDir);
  } catch {
    return resolve(dataDir);
  }
}

export interface RecordVerifyResult extends VerifyResult {
  /** The security chain (files named relative to it). */
  security: VerifyResult;
  keyFile: string;
  anchorFile: string;
  /** Checks anchors without the chain key (docs/audit.md). Null when there is no key. */
  publicKey: string | null;
  head?: ChainHead & { security?: ChainHead };
}

export interface VerifyRecordInput {
  dataDir: string;
  key: ChainKey | null;
  keyFile: string;
  anchorFile: string;
  head?: { main: ChainHead; security: ChainHead } | undefined;
  laterHead?: (() => Promise<{ main: ChainHead; security: ChainHead } | undefined>) | undefined;
}

/** Both chains against the key and the anchors (and a running gateway's heads when given). */
export async function verifyRecord(input: VerifyRecordInput): Promise<RecordVerifyResult> {
  const dir = dataDirPaths(input.dataDir).auditDir;
  const read = await readAnchors(input.anchorFile, anchorDataDir(input.dataDir));
  const common = { key: input.key, keyFile: input.keyFile };
  let later: Promise<{ main: ChainHead; security: ChainHead } | undefined> | undefined;
  const laterOnce = () => (later ??= input.laterHead?.() ?? Promise.resolve(undefined));
  const main = await verifyAudit(dir, {
    ...common,
    anchors: anchorPoints(read, 'main', input.key),
    ...(input.head ? { head: input.head.main, laterHead: async () => (await laterOnce())?.main } : {}),
  });
  const security = await verifyAudit(join(dir, AUDIT_SECURITY), {
    ...common,
    anchors: anchorPoints(read, 'security', input.key),
    ...(input.head ? { head: input.head.security, laterHead: async () => (await laterOnce())?.security } : {}),
  });
  const out: RecordVerifyResult = { ...main, security, keyFile: input.keyFile, anchorFile: input.anchorFile, publicKey: input.key?.publicKey ?? null };
  if (read.malformed.length > 0 && out.ok) {
    return {
      ...out,
      ok: false,
      broken: { file: input.anchorFile, line: read.malformed[0] as number, reason: 'not a head anchor: the anchor file was edited or corrupted' },
    };
  }
  if (!security.ok && out.ok) {
    const b = security.broken;
    return { ...out, ok: false, ...(b ? { broken: { ...b, file: `${AUDIT_SECURITY}/${b.file}` } } : {}) };
  }
  if (!read.present && out.entries > 0) out.notes.push(`no head anchor file at ${input.anchorFile} yet`);
  return out;
}

export class AuditRecord implements AuditSink {
  readonly main: AuditLog;
  readonly security: AuditLog;
  private readonly refusals: RefusalAggregator;
  private readonly opts: AuditRecordOptions;
  private readonly dataDirName: string;
  private timer: NodeJS.Timeout | null = null;
  private published: { main: ChainHead; security: ChainHead } | null = null;
  /** Anchors are published one at a time, in order. */
  private publishing: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;

  constructor(opts: AuditRecordOptions) {
    this.opts = opts;
    this.dataDirName = anchorDataDir(opts.dataDir);
    const common = { key: opts.key, rotateBytes: opts.rotateBytes, maxQueue: opts.maxQueue, log: opts.log, now: opts.now };
    this.security = new AuditLog({ ...common, dir: join(opts.dir, AUDIT_SECURITY), keep: opts.securityKeep });
    // Every main entry that is a security event (those of the writer itself included) goes to the security chain too.
    this.main = new AuditLog({ ...common, dir: opts.dir, keep: opts.keep, onAppend: (e, seq) => this.mirror(e, seq) });
    this.refusals = new RefusalAggregator({
      windowMs: opts.refusalWindowMs,
      maxKeys: opts.refusalMaxKeys,
      now: opts.now,
      write: (e) => this.record(e),
      canWrite: () => this.hasCapacity(),
    });
  }

  private mirror(event: AuditEvent, seq: number): void {
    if (isSecurityEvent(event)) this.security.record({ ...event, mainSeq: seq });
  }

  async start(): Promise<void> {
    // The security log first: the main log's start may already mirror entries (audit.keyed, audit.recovered).
    await this.security.start();
    await this.main.start();
    const { key, keyFile } = this.opts;
    if (this.opts.keyCreated) {
      this.record({
        type: 'audit.key_created',
        outcome: 'ok',
        detail: { key: key.id, file: keyFile, reason: 'no chain key was found: a new one was created; back it up (docs/deployment.md)' },
      });
      this.opts.log.warn({ keyFile }, 'created the audit chain key: back it up (losing it means the log can no longer be checked)');
    }
    await this.checkAnchors();
    this.refusals.start();
    await this.publish();
    this.timer = setInterval(() => void this.publish(), this.opts.anchorIntervalMs);
    this.timer.unref();
  }

  /** The heads at the last start against the newest anchor: a log cut or edited while no gateway ran. */
  private async checkAnchors(): Promise<void> {
    let read: Awaited<ReturnType<typeof readAnchors>>;
    try {
      read = await readAnchors(this.opts.anchorFile, this.dataDirName);
    } catch (err) {
      this.opts.log.error({ err, anchorFile: this.opts.anchorFile }, 'cannot read the audit anchor file');
      return;
    }
    const newest = read.anchors[read.anchors.length - 1];
    if (newest === undefined) return;
    const found = (chain: 'main' | 'security') => (chain === 'main' ? this.main : this.security).recoveredHead;
    const problems: string[] = [];
    if (!anchorPoints(read, 'main', this.opts.key)[read.anchors.length - 1]?.authentic()) {
      problems.push(`the newest anchor (${read.file}:${newest.line}) does not verify under the chain key: it was forged or edited`);
    } else {
      for (const chain of ['main', 'security'] as const) {
        const a = newest[chain];
        const h = found(chain);
        if (a.seq > h.seq)
          problems.push(`the ${chain} log ends at seq ${h.seq} but the anchor of ${newest.ts} vouches for seq ${a.seq}: entries were cut while no gateway ran`);
        else if (a.seq === h.seq && a.hash !== h.hash)
          problems.push(`the newest ${chain} entry (seq ${h.seq}) differs from the anchor of ${newest.ts}: it was edited while no gateway ran`);
      }
    }
    for (const reason of problems) {
      this.opts.log.error({ anchorFile: this.opts.anchorFile }, `audit log does not match its anchor: ${reason}`);
      this.record({ type: 'audit.anchor_mismatch', outcome: 'error', detail: { reason, anchorTs: newest.ts } });
    }
  }

  /** Signs both written heads and appends them to the anchor file (and the notifier); skipped when nothing changed. */
  publish(): Promise<void> {
    this.publishing = this.publishing.then(() => this.publishOnce());
    return this.publishing;
  }

  private async publishOnce(): Promise<void> {
    const heads = { main: this.main.writtenHead, security: this.security.writtenHead };
    const p = this.published;
    if (p && p.main.seq === heads.main.seq && p.security.seq === heads.security.seq) return;
    try {
      // Nothing is vouched for that a power cut could still take back.
      await Promise.all([this.main.sync(), this.security.sync()]);
      const anchor = makeAnchor(this.opts.key, this.dataDirName, heads.main, heads.security, this.opts.now());
      await appendAnchor(this.opts.anchorFile, anchor);
      this.published = heads;
      if (this.opts.notify && this.stopping === null) void this.opts.notify(anchor).catch(() => undefined);
    } catch (err) {
      this.opts.log.error({ err, anchorFile: this.opts.anchorFile }, 'could not write the audit head anchor');
    }
  }

  record(event: AuditEvent): void {
    this.main.record(event);
  }

  refused(event: AuditEvent): void {
    this.refusals.refused(event);
  }

  hasCapacity(): boolean {
    return this.main.hasCapacity() && this.security.hasCapacity();
  }

  /** Writes the counts of every open refusal window now (before the shutdown record). */
  closeWindows(): void {
    this.refusals.flush();
  }

  get backlog(): number {
    return this.main.backlog + this.security.backlog;
  }

  get droppedCount(): number {
    return this.main.droppedCount + this.security.droppedCount;
  }

  /** The newest main entry written to the files. */
  get writtenHead(): ChainHead {
    return this.main.writtenHead;
  }

  get heads(): { main: ChainHead; security: ChainHead } {
    return { main: this.main.writtenHead, security: this.security.writtenHead };
  }

  async flushWithin(ms: number): Promise<boolean> {
    const [a, b] = await Promise.all([this.main.flushWithin(ms), this.security.flushWithin(ms)]);
    return a && b;
  }

  /** Both chains against this gateway's heads (after what was recorded before the call is written) and the anchors. */
  async verify(settleMs: number): Promise<RecordVerifyResult> {
    await this.flushWithin(settleMs);
    const head = this.heads;
    // Recorded heads (queued included): any line in the files was recorded by now.
    const laterHead = async () => ({ main: this.main.head, security: this.security.head });
    const r = await verifyRecord({
      dataDir: this.opts.dataDir,
      key: this.opts.key,
      keyFile: this.opts.keyFile,
      anchorFile: this.opts.anchorFile,
      head,
      laterHead,
    });
    return { ...r, head: { ...head.main, security: head.security } };
  }

  /** Writes open counts, everything queued, then the final anchor. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.refusals.stop();
      await this.main.stop();
      await this.security.stop();
      await this.publish();
    })();
    return this.stopping;
  }
}
