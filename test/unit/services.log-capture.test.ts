/** Captured service output: lines split across chunks, a bounded ring, following by seq, long lines cut, files rotated by size. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LogCapture, MAX_LINE_CHARS } from '../../src/domain/supervisor/log-capture.js';
import { tmpDir } from '../helpers/gateway.js';

const ended = (s: PassThrough) => new Promise((r) => s.once('end', r));

describe('log capture', () => {
  it('splits lines across chunks, keeps streams apart and flushes a last line without a newline', async () => {
    const log = new LogCapture({ dir: join(tmpDir(), 'svc'), maxLines: 10, fileBytes: 1 << 20, files: 2 });
    const out = new PassThrough();
    const err = new PassThrough();
    log.attach(out, 'stdout');
    log.attach(err, 'stderr');
    out.write('hel');
    out.write('lo\r\nwor');
    err.end('oops\n');
    out.end('ld');
    await Promise.all([ended(out), ended(err)]);
    expect(log.tail(10).map((l) => [l.stream, l.line])).toEqual([
      ['stdout', 'hello'],
      ['stderr', 'oops'],
      ['stdout', 'world'],
    ]);
    await log.close();
  });

  it('keeps only the newest maxLines, oldest first, and follows by seq', () => {
    const log = new LogCapture({ dir: join(tmpDir(), 'svc'), maxLines: 3, fileBytes: 1 << 20, files: 2 });
    for (let i = 1; i <= 5; i++) log.note(`line ${i}`);
    expect(log.tail(100).map((l) => l.line)).toEqual(['line 3', 'line 4', 'line 5']);
    expect(log.tail(2).map((l) => l.seq)).toEqual([4, 5]);
    expect(log.tail(100, 4).map((l) => l.line)).toEqual(['line 5']);
    expect(log.tail(100, 5)).toEqual([]);
    expect(log.lastSeq).toBe(5);
    void log.close();
  });

  it('cuts a line longer than the cap instead of growing without bound', async () => {
    const log = new LogCapture({ dir: join(tmpDir(), 'svc'), maxLines: 10, fileBytes: 1 << 20, files: 2 });
    const s = new PassThrough();
    log.attach(s, 'stdout');
    s.end('x'.repeat(MAX_LINE_CHARS * 3));
    await ended(s);
    const lines = log.tail(10);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l.line.length).toBeLessThanOrEqual(MAX_LINE_CHARS + 10);
    await log.close();
  });

  it('writes output.log (mode 0600) and rotates it by size, keeping `files` rotations', async () => {
    const dir = join(tmpDir(), 'svc');
    const log = new LogCapture({ dir, maxLines: 10, fileBytes: 4096, files: 2 });
    for (let i = 0; i < 400; i++) log.note(`${i} ${'y'.repeat(60)}`);
    await log.close();
    const names = readdirSync(dir).sort();
    expect(names).toEqual(['output.log', 'output.log.1', 'output.log.2']);
    expect(statSync(join(dir, 'output.log.1')).size).toBeGreaterThanOrEqual(4096);
    expect(statSync(join(dir, 'output.log')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'output.log'), 'utf8')).toMatch(/ moat 399 y+\n$/);
    expect(existsSync(join(dir, 'output.log.3'))).toBe(false);
  });
});
