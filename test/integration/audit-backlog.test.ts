/**
 * A stalled audit writer: writes are refused with 503 audit_backlog rather than piling up in
 * memory, reads still work, nothing refused goes unrecorded (recorded or counted as dropped), and
 * writes resume once the log catches up.
 *
 * How the writer is stalled, without mocking it: audit.jsonl is a named pipe (FIFO) that this test
 * holds open and does not read. The real writer's real write() blocks in the kernel once the pipe
 * buffer (64 KiB) is full, exactly as on a hung disk; reading the pipe un-stalls it, and what is
 * read is the log itself, checked here as a chain.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../helpers/audit.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

/** The test's ends of the pipe: a reader it drains on demand, and an idle writer so opens never block. */
class Pipe {
  private readonly reader: number;
  private readonly idleWriter: number;
  private text = '';
  constructor(path: string) {
    this.reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.idleWriter = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  }
  /** Reads whatever the gateway has written so far. */
  drain(): void {
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.reader, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return;
        throw err;
      }
      if (n === 0) return;
      this.text += buf.toString('latin1', 0, n);
    }
  }
  get lines(): string[] {
    return Buffer.from(this.text, 'latin1').toString('utf8').split('\n').filter(Boolean);
  }
  close(): void {
    closeSync(this.reader);
    closeSync(this.idleWriter);
  }
}

describe('a stalled audit writer', () => {
  let g: TestGateway;
  let pipe: Pipe;
  const refusedIds: string[] = [];
  let firstRefusal: { status: number; code: string; retryAfter: unknown } | undefined;

  beforeAll(async () => {
    const dataDir = tmpDir();
    mkdirSync(join(dataDir, 'audit'), { recursive: true, mode: 0o700 });
    const fifo = join(dataDir, 'audit', 'audit.jsonl');
    expect(spawnSync('mkfifo', ['-m', '600', fifo]).status).toBe(0);
    pipe = new Pipe(fifo);
    g = await startGateway({ dataDir, audit: { maxQueue: 100 }, rateLimit: { general: { perMinute: 1_000_000 } } });
    // Refused writes (400) until the pipe is full and the queue reaches maxQueue.
    for (let i = 0; i < 5000 && !firstRefusal; i++) {
      const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: {}, headers: { 'x-request-id': `fill-${i}` } });
      if (res.status !== 400) {
        firstRefusal = { status: res.status, code: res.json.code, retryAfter: res.headers['retry-after'] };
        refusedIds.push(`fill-${i}`);
      }
    }
  });
  afterAll(async () => {
    const timer = setInterval(() => pipe.drain(), 5);
    await g.stop();
    clearInterval(timer);
    pipe.close();
  });

  it('refuses writes with 503 audit_backlog and Retry-After once the queue is full', () => {
    expect(firstRefusal).toEqual({ status: 503, code: 'audit_backlog', retryAfter: '1' });
  });

  it('still answers reads, the audit head too (what is written so far)', async () => {
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    const head = await g.fetch('/api/v1/audit/head');
    expect(head.status).toBe(200);
    expect(head.json.seq).toBeGreaterThan(0);
  });

  it('keeps refusing while stalled; refusals past twice the queue are counted, not queued', async () => {
    for (let i = 0; i < 150; i++) {
      const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: {}, headers: { 'x-request-id': `more-${i}` } });
      expect(res.status).toBe(503);
      refusedIds.push(`more-${i}`);
    }
  });

  it('accepts writes again once the log catches up, and the log accounts for every refusal', async () => {
    await expect
      .poll(async () => {
        pipe.drain();
        const status = (await g.fetch('/api/v1/tokens', { method: 'POST', body: {}, headers: { 'x-request-id': 'resumed' } })).status;
        if (status === 503) refusedIds.push('resumed');
        return status;
      }, { timeout: 10_000, interval: 50 })
      .toBe(400);
    await expect
      .poll(async () => {
        pipe.drain();
        return pipe.lines.some((l) => l.includes('"type":"http.write"') && l.includes('"requestId":"resumed"'));
      }, { timeout: 10_000, interval: 50 })
      .toBe(true);

    // What came through the pipe is one intact chain.
    const lines = pipe.lines;
    const entries = lines.map((l) => JSON.parse(l) as Entry);
    entries.forEach((e, i) => {
      expect(e.seq).toBe(i + 1);
      if (i > 0) expect(e.prev).toBe(createHash('sha256').update(lines[i - 1] as string).digest('hex'));
    });
    // Every refused write is either recorded as a denial or counted in an audit.dropped entry.
    const denied = entries.filter((e) => e.type === 'audit.backlog');
    expect(denied.every((e) => e.code === 'audit_backlog' && e.status === 503 && e.outcome === 'denied')).toBe(true);
    const dropped = entries.filter((e) => e.type === 'audit.dropped').reduce((n, e) => n + (e.detail?.['count'] as number), 0);
    expect(dropped).toBeGreaterThan(0);
    expect(denied.length + dropped).toBe(refusedIds.length);
    // The first refusals are recorded in order; the ones dropped came after the queue reached twice maxQueue.
    const ids = denied.map((e) => e.requestId);
    expect(ids.slice(0, 100)).toEqual(refusedIds.slice(0, 100));
    expect(ids.every((id) => refusedIds.includes(id as string))).toBe(true);
  });
});
