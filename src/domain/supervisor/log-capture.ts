/**
 * Captured output of one service: stdout and stderr split into lines, the newest kept in a bounded
 * ring (for GET .../logs) and all appended to <dataDir>/services/<name>/output.log, rotated by size.
 * Memory is bounded twice: by the ring's line count and by a cap on one line's length.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ensureDir } from '../../store/files.js';

export type LogStream = 'stdout' | 'stderr' | 'moat';

export interface LogLine {
  /** Increasing per service for the gateway's lifetime (for `logs -f`: ask for lines after a seq). */
  seq: number;
  ts: string;
  stream: LogStream;
  line: string;
}

export interface LogCaptureOptions {
  /** Directory of this service's files (the name is a checked service name: no traversal). */
  dir: string;
  maxLines: number;
  fileBytes: number;
  files: number;
  now?: () => number;
}

/** Longer lines are cut (a service printing a megabyte without a newline must not grow memory). */
export const MAX_LINE_CHARS = 8192;

export class LogCapture {
  private readonly ring: Array<LogLine | undefined>;
  private next = 0;
  private seq = 0;
  private fd: number | null = null;
  private fileSize = 0;
  private pending: string[] = [];
  private flushTimer: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: LogCaptureOptions) {
    this.ring = new Array<LogLine | undefined>(opts.maxLines);
    this.now = opts.now ?? Date.now;
  }

  /** Reads a child's stream line by line until it ends. */
  attach(stream: Readable, which: 'stdout' | 'stderr'): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let text = partial + chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        this.push(which, text.slice(0, nl).replace(/\r$/, ''));
        text = text.slice(nl + 1);
      }
      if (text.length > MAX_LINE_CHARS) {
        this.push(which, text);
        text = '';
      }
      partial = text;
    });
    stream.on('end', () => {
      if (partial !== '') this.push(which, partial);
      partial = '';
    });
    stream.on('error', () => undefined);
  }

  /** A line from moat itself about the service (started, exited, ...). */
  note(text: string): void {
    this.push('moat', text);
  }

  private push(stream: LogStream, raw: string): void {
    const line = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}…[cut]` : raw;
    const entry: LogLine = { seq: ++this.seq, ts: new Date(this.now()).toISOString(), stream, line };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.ring.length;
    this.writeFile(`${entry.ts} ${stream} ${line}\n`);
  }

  /** The newest `tail` lines, oldest first; only those after `after` when given. */
  tail(tail: number, after = 0): LogLine[] {
    const out: LogLine[] = [];
    const n = this.ring.length;
    for (let i = 0; i < n && out.length < tail; i++) {
      const e = this.ring[(this.next - 1 - i + n) % n];
      if (e === undefined || e.seq <= after) break;
      out.push(e);
    }
    return out.reverse();
  }

  get lastSeq(): number {
    return this.seq;
  }

  private writeFile(text: string): void {
    if (this.closed) return;
    this.pending.push(text);
    // Lines are batched into one write per turn of the event loop (a chatty service costs one
    // syscall per batch, not per line).
    this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Writes what is pending to output.log (opened synchronously, so a rotation never races an open). */
  private flush(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    try {
      let batch = '';
      let bytes = 0;
      for (const line of lines) {
        batch += line;
        bytes += Buffer.byteLength(line);
        // Rotate between lines, so that each file stays close to fileBytes.
        if (this.fileSize + bytes >= this.opts.fileBytes) {
          this.append(batch);
          batch = '';
          bytes = 0;
          this.rotate();
        }
      }
      if (batch !== '') this.append(batch);
    } catch {
      // A full or read-only disk must not take the service down: the ring still has the lines.
    }
  }

  private append(text: string): void {
    if (this.fd === null) {
      ensureDir(this.opts.dir);
      this.fd = openSync(join(this.opts.dir, 'output.log'), 'a', 0o600);
      this.fileSize = fstatSync(this.fd).size;
    }
    const data = Buffer.from(text);
    writeSync(this.fd, data);
    this.fileSize += data.length;
  }

  /** output.log -> output.log.1 -> ... -> output.log.N (the oldest is dropped). */
  private rotate(): void {
    const base = join(this.opts.dir, 'output.log');
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(`${base}.${this.opts.files}`, { force: true });
    for (let i = this.opts.files - 1; i >= 1; i--) if (existsSync(`${base}.${i}`)) renameSync(`${base}.${i}`, `${base}.${i + 1}`);
    if (existsSync(base)) renameSync(base, `${base}.1`);
    this.fileSize = 0;
  }

  /** Flushes and closes the file. Idempotent; later lines stay in memory only. */
  close(): Promise<void> {
    if (!this.closed) {
      this.flush();
      this.closed = true;
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
    }
    return Promise.resolve();
  }
}
