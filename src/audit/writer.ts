/**
 * The append-only audit writer. record() hashes the entry into the chain at once (so order is the
 * order of events) and queues the line; lines are flushed in order, off the request path, by one
 * writer. The queue is bounded: past `maxQueue` writes are refused (audit_backlog), past twice that
 * events are counted as dropped. Rotation by size keeps the chain: the first entry of each new file
 * records which files were pruned and where the kept chain now starts.
 */
import { open, readdir, rename, unlink, chmod, mkdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observe/logger.js';
import { CURRENT_FILE, GENESIS, chainOrder, isRotatedName, lineHash, rotatedName } from './chain.js';
import type { AuditEvent, AuditSink } from './event.js';

export interface AuditLogOptions {
  dir: string;
  /** Rotate the current file when it reaches this many bytes. */
  rotateBytes: number;
  /** Rotated files kept; older ones are deleted (and the deletion recorded in the chain). */
  keep: number;
  /** Queued entries before write requests are refused with audit_backlog. */
  maxQueue: number;
  log: Logger;
  now?: () => number;
}

interface Rotate {
  closeAs: string;
  prune: string[];
}

interface FileStart {
  name: string;
  seq: number;
  prev: string;
}

const TAIL_BYTES = 1 << 20;

export class AuditLog implements AuditSink {
  private readonly opts: AuditLogOptions;
  private readonly now: () => number;
  private queue: Array<string | Rotate> = [];
  private queued = 0;
  private seq = 0;
  private prev = GENESIS;
  private bytesInFile = 0;
  private currentStart: { seq: number; prev: string } | null = null;
  private rotated: FileStart[] = [];
  private fd: FileHandle | null = null;
  private writing = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private waiters: Array<() => void> = [];
  private started = false;
  private dropped = 0;

  constructor(opts: AuditLogOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Sequence number and hash of the newest entry (for comparing with the files). */
  get head(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.prev };
  }

  get backlog(): number {
    return this.queued;
  }

  get droppedCount(): number {
    return this.dropped;
  }

  async start(): Promise<void> {
    const { dir } = this.opts;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const names = chainOrder(await readdir(dir));
    for (const name of names.filter(isRotatedName)) {
      const first = await readFirstLine(join(dir, name));
      const parsed = first ? safeParse(first) : undefined;
      if (parsed) this.rotated.push({ name, seq: parsed.seq, prev: parsed.prev });
    }
    const truncated = await this.recoverTail();
    this.fd = await open(join(dir, CURRENT_FILE), 'a', 0o600);
    await chmod(join(dir, CURRENT_FILE), 0o600);
    this.started = true;
    if (truncated > 0) {
      this.record({ type: 'audit.recovered', outcome: 'ok', detail: { truncatedBytes: truncated, reason: 'partial last line after an unclean stop' } });
    }
  }

  /** Finds the chain head; cuts a partial last line left by a crash. Returns bytes cut. */
  private async recoverTail(): Promise<number> {
    const current = join(this.opts.dir, CURRENT_FILE);
    let size = 0;
    try {
      size = (await stat(current)).size;
    } catch {
      size = 0;
    }
    let truncated = 0;
    let last: string | undefined;
    if (size > 0) {
      const fh = await open(current, 'r+');
      try {
        const len = Math.min(size, TAIL_BYTES);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        const text = buf.toString('utf8');
        const end = text.lastIndexOf('\n');
        if (end < text.length - 1) {
          truncated = Buffer.byteLength(text.slice(end + 1));
          size -= truncated;
          await fh.truncate(size);
        }
        const body = end < 0 ? '' : text.slice(0, end);
        last = body.slice(body.lastIndexOf('\n') + 1) || undefined;
      } finally {
        await fh.close();
      }
      const first = size > 0 ? await readFirstLine(current) : undefined;
      const parsedFirst = first ? safeParse(first) : undefined;
      if (parsedFirst) this.currentStart = { seq: parsedFirst.seq, prev: parsedFirst.prev };
    }
    if (last === undefined) {
      const newest = this.rotated[this.rotated.length - 1];
      if (newest) last = await readLastLine(join(this.opts.dir, newest.name));
    }
    if (last !== undefined) {
      this.prev = lineHash(last);
      this.seq = safeParse(last)?.seq ?? this.seq;
    }
    this.bytesInFile = size;
    return truncated;
  }

  hasCapacity(): boolean {
    return this.queued < this.opts.maxQueue;
  }

  record(event: AuditEvent): void {
    if (this.queued >= this.opts.maxQueue * 2) {
      if (this.dropped++ === 0) this.opts.log.error({ type: event.type }, 'audit queue full: dropping events');
      return;
    }
    if (this.bytesInFile > 0 && this.bytesInFile >= this.opts.rotateBytes) this.markRotation();
    this.append(event);
  }

  private append(event: AuditEvent): void {
    const seq = ++this.seq;
    const line = JSON.stringify({ seq, ts: new Date(this.now()).toISOString(), prev: this.prev, ...event });
    if (this.currentStart === null) this.currentStart = { seq, prev: this.prev };
    this.prev = lineHash(line);
    this.queue.push(`${line}\n`);
    this.queued++;
    this.bytesInFile += Buffer.byteLength(line) + 1;
    this.schedule();
  }

  /** Closes the current file in the chain: the next entry opens a new file and says what was pruned. */
  private markRotation(): void {
    const start = this.currentStart ?? { seq: this.seq + 1, prev: this.prev };
    const closing: FileStart = { name: rotatedName(start.seq), seq: start.seq, prev: start.prev };
    this.rotated.push(closing);
    const pruned = this.rotated.length > this.opts.keep ? this.rotated.splice(0, this.rotated.length - this.opts.keep) : [];
    this.queue.push({ closeAs: closing.name, prune: pruned.map((p) => p.name) });
    this.bytesInFile = 0;
    this.currentStart = null;
    const oldest = this.rotated[0];
    const anchor = oldest ? { seq: oldest.seq, prev: oldest.prev } : { seq: this.seq + 1, prev: this.prev };
    this.append({ type: 'audit.rotated', outcome: 'ok', detail: { closed: closing.name, pruned: pruned.map((p) => p.name), anchor } });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.retryTimer || !this.started) return;
    this.scheduled = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.writing = true;
    let items: Array<string | Rotate> = [];
    try {
      while (this.queue.length > 0) {
        items = this.queue;
        this.queue = [];
        while (items.length > 0) {
          let n = 0;
          while (n < items.length && typeof items[n] === 'string') n++;
          if (n > 0) {
            await (this.fd as FileHandle).write((items.slice(0, n) as string[]).join(''));
            items = items.slice(n);
            this.queued -= n;
          }
          const marker = items[0];
          if (marker !== undefined && typeof marker !== 'string') {
            await this.rotateFiles(marker);
            items = items.slice(1);
          }
        }
      }
    } catch (err) {
      // Disk full or similar: keep everything (in order) and retry; writes are refused meanwhile.
      this.queue = [...items, ...this.queue];
      this.opts.log.error({ err }, 'audit write failed; retrying');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.schedule();
      }, 1000);
      this.retryTimer.unref();
    } finally {
      this.writing = false;
    }
    if (this.queue.length > 0) this.schedule();
    else if (!this.retryTimer) this.wake();
  }

  private async rotateFiles(marker: Rotate): Promise<void> {
    const { dir } = this.opts;
    const fd = this.fd as FileHandle;
    await fd.sync();
    await fd.close();
    this.fd = null;
    await rename(join(dir, CURRENT_FILE), join(dir, marker.closeAs));
    await chmod(join(dir, marker.closeAs), 0o400).catch(() => undefined);
    for (const name of marker.prune) await unlink(join(dir, name)).catch(() => undefined);
    this.fd = await open(join(dir, CURRENT_FILE), 'a', 0o600);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when everything recorded so far is written. */
  flush(): Promise<void> {
    if (!this.started || (this.queue.length === 0 && !this.writing && !this.scheduled)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.schedule();
    }
    await this.flush();
    this.started = false;
    const fd = this.fd;
    this.fd = null;
    if (fd) {
      await fd.sync().catch(() => undefined);
      await fd.close();
    }
  }
}

function safeParse(line: string): { seq: number; prev: string } | undefined {
  try {
    const v = JSON.parse(line) as { seq?: unknown; prev?: unknown };
    return typeof v.seq === 'number' && typeof v.prev === 'string' ? { seq: v.seq, prev: v.prev } : undefined;
  } catch {
    return undefined;
  }
}

async function readFirstLine(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const end = text.indexOf('\n');
    return end < 0 ? undefined : text.slice(0, end);
  } finally {
    await fh.close();
  }
}

async function readLastLine(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const text = buf.toString('utf8').replace(/\n$/, '');
    return text.slice(text.lastIndexOf('\n') + 1) || undefined;
  } finally {
    await fh.close();
  }
}
