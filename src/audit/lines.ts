/**
 * Line access to audit files by bytes (a line is split on 0x0A only, so a crash that cut a line
 * inside a multi-byte character is measured exactly). Reads files only; never writes.
 */
import { open } from 'node:fs/promises';

const CHUNK = 1 << 16;

export interface LineScan {
  /** Complete lines seen (all of them unless `onLine` stopped the scan). */
  lines: number;
  /** Bytes after the last newline: a partial last line (0 when the file ends with a newline). */
  partialBytes: number;
  stopped: boolean;
}

/** Calls `onLine(text, lineNo)` for each complete line, in order; returning false stops the scan. */
export async function forEachLine(path: string, onLine: (text: string, lineNo: number) => boolean | undefined): Promise<LineScan> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer[] = [];
    let carryLen = 0;
    let n = 0;
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        let text: string;
        if (carryLen > 0) {
          carry.push(chunk.subarray(start, nl));
          text = Buffer.concat(carry).toString('utf8');
          carry = [];
          carryLen = 0;
        } else {
          text = chunk.toString('utf8', start, nl);
        }
        start = nl + 1;
        if (onLine(text, ++n) === false) return { lines: n, partialBytes: 0, stopped: true };
      }
      if (start < bytesRead) {
        carry.push(Buffer.from(chunk.subarray(start)));
        carryLen += bytesRead - start;
      }
    }
    return { lines: n, partialBytes: carryLen, stopped: false };
  } finally {
    await fh.close();
  }
}

/** The first complete line of a file, or undefined (empty, or no newline yet). */
export async function readFirstLine(path: string): Promise<string | undefined> {
  let first: string | undefined;
  await forEachLine(path, (text) => {
    first = text;
    return false;
  });
  return first;
}

export interface Tail {
  /** File size in bytes. */
  size: number;
  /** The last complete line, if any within `window` bytes of the end. */
  last: string | undefined;
  /** Complete lines before `last` in the window, newest first (to recover from an unreadable last line). */
  before: string[];
  /** Bytes after the last newline. */
  partialBytes: number;
}

/** Reads the end of a file: its last complete line and the size of a partial line after it. */
export async function readTail(path: string, window = 1 << 20): Promise<Tail> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, window);
    const buf = Buffer.alloc(len);
    if (len > 0) await fh.read(buf, 0, len, size - len);
    const end = buf.lastIndexOf(10);
    // No newline in the window: all of it is (part of) one partial line.
    const partialBytes = end < 0 ? len : len - end - 1;
    if (end < 0) return { size, last: undefined, before: [], partialBytes };
    // The window may start inside a line: drop that fragment unless the window is the whole file.
    const complete = buf.subarray(0, end).toString('utf8').split('\n');
    if (len < size) complete.shift();
    const last = complete.pop();
    return { size, last, before: complete.reverse(), partialBytes };
  } finally {
    await fh.close();
  }
}
