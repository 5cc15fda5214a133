/**
 * Captured output of one service: stdout and stderr split into lines, the newest kept in a bounded
 * ring (for GET .../logs) and all appended to <dataDir>/services/<name>/output.log, rotated by size.
 * Memory is bounded twice: by the ring's line count and by a cap on one line's length.
 */
import { createWriteStream, existsSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
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
  private file: WriteStream | null = null;
  private fileSize = 0;
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
    if (!this.file) {
      ensureDir(this.opts.dir);
      const path = join(this.opts.dir, 'output.log');
      this.fileSize = existsSync(path) ? statSync(path).size : 0;
      this.file = createWriteStream(path, { flags: 'a', mode: 0o600 });
      this.file.on('error', () => undefined);
    }
    this.file.write(text);
    this.fileSize += Buffer.byteLength(text);
    if (this.fileSize >= this.opts.fileBytes) this.rotate();
  }

  /** output.log -> output.log.1 -> ... -> output.log.N (dropped). Pending writes follow the renamed file. */
  private rotate(): void {
    const base = join(this.opts.dir, 'output.log');
    this.file?.end();
    this.file = null;
    rmSync(`${base}.${this.opts.files}`, { force: true });
    for (let i = this.opts.files - 1; i >= 1; i--) if (existsSync(`${base}.${i}`)) renameSync(`${base}.${i}`, `${base}.${i + 1}`);
    if (existsSync(base)) renameSync(base, `${base}.1`);
    this.fileSize = 0;
  }

  /** Flushes and closes the file. Idempotent; later lines stay in memory only. */
  close(): Promise<void> {
    this.closed = true;
    const f = this.file;
    this.file = null;
    if (!f) return Promise.resolve();
    return new Promise((resolve) => f.end(() => resolve()));
  }
}
