/**
 * The Engine API's multiplexed stream (logs and attach of a container without a TTY), split back
 * into stdout and stderr: each frame is an 8-byte header (stream type, three zero bytes, payload
 * size as a big-endian uint32) and the payload. Frames are forwarded as they arrive, never held
 * whole, so a huge frame costs no memory here; a malformed header ends both streams.
 */
import { PassThrough, type Readable } from 'node:stream';

export interface Demuxed {
  stdout: PassThrough;
  stderr: PassThrough;
}

const HEADER = 8;

/** Splits `source` into its stdout and stderr; both end when the source ends or breaks. */
export function demux(source: Readable): Demuxed {
  const out: Demuxed = { stdout: new PassThrough(), stderr: new PassThrough() };
  let header = Buffer.alloc(0);
  /** Bytes of payload left in the current frame, and where they go (null: stdin echo, dropped). */
  let left = 0;
  let target: PassThrough | null = null;
  const end = () => {
    out.stdout.end();
    out.stderr.end();
  };
  source.on('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (left === 0) {
        const need = HEADER - header.length;
        const piece = chunk.subarray(at, at + need);
        header = Buffer.concat([header, piece]);
        at += piece.length;
        if (header.length < HEADER) return;
        const type = header[0] as number;
        if (type > 3 || header[1] !== 0 || header[2] !== 0 || header[3] !== 0) {
          // Not a multiplexed stream (or a broken one): stop rather than print garbage.
          source.destroy();
          end();
          return;
        }
        left = header.readUInt32BE(4);
        // 1 stdout, 2 stderr, 3 the engine's own error text about the stream; 0 (stdin) is dropped.
        target = type === 1 ? out.stdout : type === 0 ? null : out.stderr;
        header = Buffer.alloc(0);
        continue;
      }
      const n = Math.min(left, chunk.length - at);
      target?.write(chunk.subarray(at, at + n));
      at += n;
      left -= n;
    }
  });
  source.once('end', end);
  source.once('close', end);
  source.once('error', end);
  return out;
}
