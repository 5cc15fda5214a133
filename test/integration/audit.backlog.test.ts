/**
 * A stalled audit writer: writes are refused with 503 audit_backlog rather than piling up in
 * memory, reads still work, nothing refused goes unrecorded (the first refusal at once, the rest
 * counted into one entry per window, anything past the queue counted as dropped), and writes
 * resume once the log catches up.
 *
 * How the writer is stalled, without mocking it: audit.jsonl is a named pipe (FIFO) that this test
 * holds open and does not read. The real writer's real write() blocks in the kernel once the pipe
 * buffer (64 KiB) is full, exactly as on a hung disk; reading the pipe un-stalls it, and what is
 * read is the log itself, checked here as a chain.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../helpers/audit.js';
import { Agent } from 'undici';
import { send, startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

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
    g = await startGateway({ dataDir, audit: { maxQueue: 100, refusalWindow: 1 }, rateLimit: { general: { perMinute: 1_000_000 } } });
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

  it('keeps refusing while stalled; the refusals are counted, not queued one by one', async () => {
    for (let i = 0; i < 150; i++) {
      const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: {}, headers: { 'x-request-id': `more-${i}` } });
      expect(res.status).toBe(503);
      refusedIds.push(`more-${i}`);
    }
  });

  it('counts what cannot be queued at all: the first refusals of 250 other clients, past twice the queue, in audit.dropped', async () => {
    // Each client's first refusal is an entry of its own; together they pass twice maxQueue.
    for (let i = 1; i <= 250; i++) {
      const agent = new Agent({ localAddress: `127.0.3.${i}` });
      try {
        const res = await send(agent, g.url, g.token, '/api/v1/tokens', { method: 'POST', body: {}, headers: { 'x-request-id': `client-${i}` } });
        expect(res.status).toBe(503);
        refusedIds.push(`client-${i}`);
      } finally {
        await agent.close();
      }
    }
    const metrics = await g.fetch('/metrics');
    expect(Number(/^moat_audit_dropped_total (\d+)$/m.exec(metrics.text)?.[1])).toBeGreaterThan(0);
  });

  it('accepts writes again once the log catches up, and the log accounts for every refusal', async () => {
    await expect
      .poll(
        async () => {
          pipe.drain();
          const status = (await g.fetch('/api/v1/tokens', { method: 'POST', body: {}, headers: { 'x-request-id': 'resumed' } })).status;
          if (status === 503) refusedIds.push('resumed');
          return status;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(400);
    await expect
      .poll(
        async () => {
          pipe.drain();
          return pipe.lines.some((l) => l.includes('"type":"http.write"') && l.includes('"clientRequestId":"resumed"'));
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(true);
    // Every refused write is recorded: the first at once, the others in the count of their window
    // (written when the 1 s window closes), anything that could not be queued in audit.dropped.
    const accounted = (entries: Entry[]) =>
      entries.filter((e) => e.type === 'audit.backlog').reduce((n, e) => n + ((e.detail?.['count'] as number | undefined) ?? 1), 0) +
      entries.filter((e) => e.type === 'audit.dropped').reduce((n, e) => n + (e.detail?.['count'] as number), 0);
    await expect
      .poll(
        () => {
          pipe.drain();
          return accounted(pipe.lines.map((l) => JSON.parse(l) as Entry));
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(refusedIds.length);

    // What came through the pipe is one intact chain: each line names the mac of the one before.
    const entries = pipe.lines.map((l) => JSON.parse(l) as Entry);
    entries.forEach((e, i) => {
      expect(e.seq).toBe(i + 1);
      expect(e.mac).toMatch(/^[0-9a-f]{64}$/);
      if (i > 0) expect(e.prev).toBe(entries[i - 1]?.mac);
    });
    const denied = entries.filter((e) => e.type === 'audit.backlog');
    expect(denied.every((e) => e.code === 'audit_backlog' && e.status === 503 && e.outcome === 'denied')).toBe(true);
    // The first refusal is written as it happened; the counted ones name the last of them.
    expect(denied[0]).toMatchObject({ clientRequestId: refusedIds[0] });
    expect(denied.length).toBeLessThan(refusedIds.length);
    expect(entries.filter((e) => e.type === 'audit.dropped').reduce((n, e) => n + (e.detail?.['count'] as number), 0)).toBeGreaterThan(0);
    const counted = denied.filter((e) => e.detail?.['aggregated'] === true);
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.every((e) => e.client === '127.0.0.1' && typeof e.detail?.['lastRequestId'] === 'string')).toBe(true);
  });
});
