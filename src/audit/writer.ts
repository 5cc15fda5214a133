/**
 * The append-only audit writer of one chain (the main log, or the security log beside it). record()
 * keys the entry into the chain at once (so chain order is the order of events: each line carries
 * the previous line's link and its own HMAC under the chain key) and queues the line; one writer
 * flushes lines in order, off the request path. The queue is bounded: past `maxQueue` writes are
 * refused (audit_backlog), past twice that events are dropped and the count is recorded once there
 * is room. Rotation by size keeps the chain: the first entry of each new file names the closed file,
 * the pruned files and the anchor (where the kept chain now starts); files are pruned only after
 * that entry is written. A log found unkeyed, or keyed under another key, gets an audit.keyed entry.
 */
import { chmod, mkdir } from 'node:fs/promises';
import type { Logger } from '../observe/logger.js';
import { rotatedName, splitMac, type ChainHead } from './chain.js';
import type { AuditEvent, AuditSink } from './event.js';
import { CurrentFile } from './file.js';
import type { ChainKey } from './key.js';
import { recoverAuditDir, type FileStart } from './recover.js';
import { AUDIT_CURRENT } from '../api/data-dir.js';

export interface AuditLogOptions {
  dir: string;
  /** Keys every line (HMAC-SHA256): without it nobody can edit and re-chain the files. */
  key: ChainKey;
  /** Rotate the current file when it reaches this many bytes. */
  rotateBytes: number;
  /** Rotated files kept; older ones are deleted (and the deletion recorded in the chain). */
  keep: number;
  /** Queued entries before write requests are refused with audit_backlog. */
  maxQueue: number;
  log: Logger;
  now?: () => number;
  /** How long stop() keeps retrying a failing disk before giving up on the queue (ms). */
  stopTimeoutMs?: number;
  /** Called with every entry put in the chain (the writer's own entries included), in chain order. */
  onAppend?: (event: AuditEvent, seq: number) => void;
}

export type { ChainHead } from './chain.js';

/** A queued line: bytes [start, end) of `buf` (a chunk shared with the lines recorded around it). */
type Item =
  | { kind: 'line'; buf: Buffer; start: number; end: number; seq: number; hash: string }
  | { kind: 'rotate'; closeAs: string }
  | { kind: 'prune'; names: string[] };

/** Bytes written per write() call at most (bounded memory for one batch). */
const BATCH_BYTES = 4 << 20;
/**
 * Lines are encoded once, straight into chunks of this size (a longer line gets a chunk of its own):
 * the HMAC is taken over those bytes and the writes send slices of them, with no second encoding.
 */
const CHUNK_BYTES = 64 << 10;
/** What a keyed line adds after its covered text's closing brace: `,"mac":"<64 hex>"}` and the newline. */
const MAC_TAIL_BYTES = ',"mac":"'.length + 64 + '"}\n'.length;
const RETRY_MS = 1000;
/**
 * Entries wait up to this long before a write, so that a busy gateway makes one write() per burst
 * rather than one per request (the cost is per call, bytes are cheap: measured with npm run bench).
 * They are in memory either way until written, and a crash loses what is not yet written.
 */
const DRAIN_DELAY_MS = 10;
/** Queued bytes that make the next write happen at once (so do a quarter of maxQueue, or a flush() waiting). */
const URGENT_BYTES = 256 << 10;

export class AuditLog implements AuditSink {
  private readonly opts: AuditLogOptions;
  private readonly now: () => number;
  private queue: Item[] = [];
  private queued = 0;
  private seq = 0;
  private prev = '';
  private written: ChainHead = { seq: 0, hash: '' };
  private recovered: ChainHead = { seq: 0, hash: '' };
  /** Bytes of the current file counting queued lines (decides rotation at record time). */
  private bytesInFile = 0;
  private currentStart: { seq: number; prev: string } | null = null;
  private rotated: FileStart[] = [];
  private readonly file: CurrentFile;
  private writing = false;
  /** The drain in progress (it never rejects), so that stop can wait for it to let go of the file. */
  private draining: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private drainUrgent = false;
  /** Bytes queued since the last write started (decides an urgent write). */
  private pendingBytes = 0;
  /** The chunk lines are encoded into, and how much of it is used. */
  private chunk: Buffer | null = null;
  private chunkUsed = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  private state: 'new' | 'open' | 'closed' = 'new';
  private dropped = 0;
  private droppedReported = 0;
  private tsMs = -1;
  private tsText = '';

  constructor(opts: AuditLogOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.file = new CurrentFile(opts.dir);
  }

  /** The newest recorded entry (it may still be queued). */
  get head(): ChainHead {
    return { seq: this.seq, hash: this.prev };
  }

  /** The newest entry found in the files at start (before this start wrote anything). */
  get recoveredHead(): ChainHead {
    return { ...this.recovered };
  }

  /** The newest entry written to the file. */
  get writtenHead(): ChainHead {
    return { ...this.written };
  }

  get backlog(): number {
    return this.queued;
  }

  get droppedCount(): number {
    return this.dropped;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    const { dir } = this.opts;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const r = await recoverAuditDir(dir);
    this.rotated = r.rotated;
    this.currentStart = r.currentStart;
    this.seq = r.head.seq;
    this.prev = r.head.hash;
    this.written = { ...r.head };
    this.recovered = { ...r.head };
    this.bytesInFile = r.currentBytes;
    await this.file.open(r.currentBytes);
    this.state = 'open';
    if (r.cut || r.unreadableHead) {
      const detail = r.cut
        ? {
            reason: 'partial last line after an unclean stop was cut',
            file: AUDIT_CURRENT,
            cutBytes: r.cut.bytes,
            cutSha256: r.cut.sha256,
            continuesAfterSeq: r.head.seq,
          }
        : { reason: 'the newest line is not an audit entry; the chain continues from it as it is', continuesAfterSeq: r.head.seq };
      this.opts.log.warn(detail, 'audit log recovered');
      this.record({ type: 'audit.recovered', outcome: r.cut ? 'ok' : 'error', detail });
    }
    this.markKeyed(r.headLine, r.head.seq);
  }

  /**
   * Where a keyed stretch of the chain starts in a log that already has entries: after legacy
   * (unkeyed) lines, or after a line that does not verify under this key (the key was replaced, or
   * the line was edited while no gateway ran). A new log is keyed from its first line and needs none.
   */
  private markKeyed(headLine: string | undefined, headSeq: number): void {
    if (headLine === undefined || headSeq === 0) return;
    const key = this.opts.key;
    const keyed = splitMac(headLine);
    if (keyed && key.checkMac(keyed.covered, keyed.mac)) return;
    if (!keyed) {
      this.record({
        type: 'audit.keyed',
        outcome: 'ok',
        detail: {
          key: key.id,
          reason: 'the log was not keyed: entries up to here carry plain SHA-256 links; every entry from here on carries an HMAC under the chain key',
          unkeyedThrough: headSeq,
        },
      });
      this.opts.log.warn({ dir: this.opts.dir, unkeyedThrough: headSeq }, 'audit log keyed from here on (entries before were written unkeyed)');
      return;
    }
    this.record({
      type: 'audit.keyed',
      outcome: 'error',
      detail: {
        key: key.id,
        reason: 'the newest entry does not verify under this chain key: the key file was replaced, or the entry was edited while no gateway ran',
        continuesAfterSeq: headSeq,
      },
    });
    this.opts.log.error(
      { dir: this.opts.dir, seq: headSeq },
      'the newest audit entry does not verify under the chain key (a replaced key, or an edited entry); the chain continues from it and verify will name it',
    );
  }

  /** Forces what is written so far to the disk (before an anchor vouches for it). */
  sync(): Promise<void> {
    return this.state === 'open' ? this.file.sync() : Promise.resolve();
  }

  hasCapacity(): boolean {
    return this.queued < this.opts.maxQueue;
  }

  /** Records an event; returns its seq, or undefined when it was dropped. */
  record(event: AuditEvent): number | undefined {
    if (this.state !== 'open' || this.queued >= this.opts.maxQueue * 2) {
      if (this.dropped === this.droppedReported) this.opts.log.error({ type: event.type, state: this.state }, 'audit event dropped');
      // A counted refusal stands for `count` refusals: all of them are accounted for in audit.dropped.
      const count = event.detail?.['aggregated'] === true ? event.detail['count'] : undefined;
      this.dropped += typeof count === 'number' && count > 0 ? count : 1;
      return undefined;
    }
    if (this.dropped > this.droppedReported && this.queued < this.opts.maxQueue) {
      const count = this.dropped - this.droppedReported;
      this.droppedReported = this.dropped;
      this.append({ type: 'audit.dropped', outcome: 'error', detail: { count, reason: 'the audit queue was full' } });
    }
    if (this.bytesInFile > 0 && this.bytesInFile >= this.opts.rotateBytes) this.markRotation();
    return this.append(event);
  }

  private append(event: AuditEvent): number {
    const seq = ++this.seq;
    // seq, ts and prev first, then the event's own members (its type has none of those names), the mac last.
    const covered = `{"seq":${seq},"ts":"${this.timestamp()}","prev":"${this.prev}",${JSON.stringify(event).slice(1)}`;
    // Encoded once: the mac covers these bytes, and the same bytes (with the mac member put in place
    // of the closing brace, as withMac() spells it) are what is written.
    const buf = this.reserve(covered.length * 3 + MAC_TAIL_BYTES);
    const start = this.chunkUsed;
    const coveredBytes = buf.write(covered, start, 'utf8');
    const mac = this.opts.key.mac(buf.subarray(start, start + coveredBytes));
    const end = start + coveredBytes - 1 + buf.write(`,"mac":"${mac}"}\n`, start + coveredBytes - 1, 'latin1');
    this.chunkUsed = end;
    this.currentStart ??= { seq, prev: this.prev };
    this.prev = mac;
    this.queue.push({ kind: 'line', buf, start, end, seq, hash: mac });
    this.queued++;
    this.bytesInFile += end - start;
    this.pendingBytes += end - start;
    this.schedule();
    this.opts.onAppend?.(event, seq);
    return seq;
  }

  /** The chunk with room for `max` bytes from `chunkUsed` on (a new chunk when the current one has not that much left). */
  private reserve(max: number): Buffer {
    if (this.chunk === null || this.chunk.length - this.chunkUsed < max) {
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, max));
      this.chunkUsed = 0;
    }
    return this.chunk;
  }

  /** ISO time of now, formatted once per millisecond (entries come in bursts). */
  private timestamp(): string {
    const ms = this.now();
    if (ms !== this.tsMs) {
      this.tsMs = ms;
      this.tsText = new Date(ms).toISOString();
    }
    return this.tsText;
  }

  /** Closes the current file in the chain: the next entry opens a new file and says what is pruned. */
  private markRotation(): void {
    // An unreadable first line (verify names it) leaves the start unknown: name the file by its last seq.
    const start = this.currentStart ?? { seq: this.seq, prev: '' };
    const closing: FileStart = { name: rotatedName(start.seq), ...start };
    this.rotated.push(closing);
    const pruned = this.rotated.length > this.opts.keep ? this.rotated.splice(0, this.rotated.length - this.opts.keep) : [];
    this.queue.push({ kind: 'rotate', closeAs: closing.name });
    this.bytesInFile = 0;
    this.currentStart = null;
    const oldest = this.rotated[0] as FileStart;
    const names = pruned.map((p) => p.name);
    this.append({ type: 'audit.rotated', outcome: 'ok', detail: { closed: closing.name, pruned: names, anchor: { seq: oldest.seq, prev: oldest.prev } } });
    if (names.length > 0) this.queue.push({ kind: 'prune', names });
  }

  private schedule(): void {
    if (this.writing || this.retryTimer || this.state !== 'open') return;
    const urgent = this.pendingBytes >= URGENT_BYTES || this.queued >= this.opts.maxQueue >> 2 || this.waiters.length > 0;
    if (this.drainTimer) {
      if (!urgent || this.drainUrgent) return;
      clearTimeout(this.drainTimer);
    }
    this.drainUrgent = urgent;
    this.drainTimer = setTimeout(() => void this.drain(), urgent ? 0 : DRAIN_DELAY_MS);
  }

  private drain(): Promise<void> {
    const run = this.drainQueue();
    this.draining = run;
    return run;
  }

  private async drainQueue(): Promise<void> {
    this.drainTimer = null;
    if (this.state !== 'open') return;
    this.writing = true;
    const batch = this.queue;
    this.queue = [];
    this.pendingBytes = 0;
    let i = 0;
    try {
      while (i < batch.length) i = await this.step(batch, i);
    } catch (err) {
      this.queue = batch.slice(i).concat(this.queue);
      // Disk full or similar: everything stays queued, in order; writes are refused as it fills.
      this.opts.log.error({ err }, 'audit write failed; retrying');
      // Not after stop() gave up on a failing disk: no timer outlives the log.
      if (this.state === 'open') {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.schedule();
        }, RETRY_MS);
        this.retryTimer.unref();
      }
    } finally {
      this.writing = false;
    }
    if (this.queue.length > 0) this.schedule();
  }

  /** Carries out the item at `i` (a run of lines is one write); returns the next index. */
  private async step(batch: Item[], i: number): Promise<number> {
    const item = batch[i] as Item;
    if (item.kind === 'rotate') {
      await this.file.rotate(item.closeAs);
      return i + 1;
    }
    if (item.kind === 'prune') {
      for (const f of await this.file.prune(item.names)) this.opts.log.error({ err: f.err, file: f.name }, 'could not prune a rotated audit file');
      return i + 1;
    }
    // A run of lines: contiguous bytes of one chunk are one slice, a new chunk starts another slice.
    let j = i;
    let bytes = 0;
    const slices: Buffer[] = [];
    let from = item.start;
    let to = item.start;
    let buf = item.buf;
    for (let it = batch[j]; it !== undefined && it.kind === 'line' && bytes < BATCH_BYTES; it = batch[++j]) {
      if (it.buf !== buf || it.start !== to) {
        slices.push(buf.subarray(from, to));
        buf = it.buf;
        from = it.start;
      }
      to = it.end;
      bytes += it.end - it.start;
    }
    slices.push(buf.subarray(from, to));
    await this.file.append(slices.length === 1 ? (slices[0] as Buffer) : Buffer.concat(slices, bytes));
    const last = batch[j - 1] as { seq: number; hash: string };
    this.written = { seq: last.seq, hash: last.hash };
    this.queued -= j - i;
    this.wake();
    return j;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const seq = this.written.seq;
    const ready = this.waiters.filter((w) => w.seq <= seq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const w of ready) w.resolve();
  }

  /** Resolves when every entry recorded so far is written (not waiting for later ones). */
  flush(): Promise<void> {
    const target = this.seq;
    if (this.state !== 'open' || this.written.seq >= target) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ seq: target, resolve });
      this.schedule();
    });
  }

  /** Waits up to `ms` for what was recorded so far to be written; says whether it was. */
  flushWithin(ms: number): Promise<boolean> {
    const target = this.seq;
    if (this.state !== 'open' || this.written.seq >= target) return Promise.resolve(true);
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        seq: target,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /** Writes everything queued (retrying a failing disk up to stopTimeoutMs), then closes. Idempotent: a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.schedule();
    }
    const deadline = Date.now() + (this.opts.stopTimeoutMs ?? 10_000);
    while (this.written.seq < this.seq) {
      if (!(await this.flushWithin(deadline - Date.now()))) {
        this.opts.log.error({ unwritten: this.queued }, 'audit log could not be written before shutdown; entries lost');
        break;
      }
    }
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    // The last entry is written before its drain has finished: let the drain end, unless the disk hangs.
    if (this.writing && this.draining) await settledWithin(this.draining, deadline - Date.now());
    // A write still hanging (a stalled disk) keeps its file handle; anything else is synced and closed.
    if (!this.writing) await this.file.close();
  }
}

/** Waits for `p` (which never rejects) or `ms`, whichever comes first. */
async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
