/**
 * Callbacks: when a job finishes, its callbackUrl gets a POST of the outcome through the egress
 * guard (purpose callback), signed `Moat-Signature: t=<unix>,v2=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * with the key of that receiver (GET /api/v1/callbacks/secret?for=<url>; verified here with an
 * independent createHmac), retried with backoff, each attempt recorded on the job. A loopback
 * callback is refused unless the operator opened it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sequenceResolver } from '../helpers/egress.js';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  url: string;
}

/** A receiver that answers each POST with the next status of `statuses` (200 once they run out). */
async function receiver(statuses: number[] = []): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, raw: Buffer.concat(chunks), url: req.url ?? '/' });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The receiver's side of Moat-Signature, written from the docs, not from moat's code. */
function verify(secret: string, header: string | undefined, raw: Buffer): boolean {
  const m = /^t=(\d+),v2=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.`).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

let g: JobsGateway;
const receivers: Array<{ close(): Promise<void> }> = [];

/** The key a receiver verifies with: asked for its own URL, as its operator would. */
async function keyFor(url: string): Promise<string> {
  const res = await g.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent(url)}`);
  expect(res.status, res.text).toBe(200);
  return res.json.secret as string;
}

beforeAll(async () => {
  g = await startJobsGateway({ egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } }, callbacks: { retryBaseMs: 50 } });
});
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});
afterAll(async () => {
  await g?.stop();
});

describe('a signed callback', () => {
  it('POSTs the outcome to callbackUrl, signed so that an independent HMAC over "<t>.<raw body>" with its receiver key verifies', async () => {
    const r = await receiver();
    receivers.push(r);
    const secret = await keyFor(r.url);
    const j = await g.submit({ service: 'worker', payload: { steps: 0, n: 7 }, callbackUrl: r.url });
    expect(j.callback).toEqual({ host: new URL(r.url).host, attempts: [] });
    await waitFor(() => r.got.length === 1, 'the callback');
    const { headers, raw } = r.got[0]!;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['moat-job-id']).toBe(j.id);
    expect(verify(secret, headers['moat-signature'] as string, raw)).toBe(true);
    // A changed body, another secret or the key of another receiver does not verify.
    expect(verify(secret, headers['moat-signature'] as string, Buffer.concat([raw, Buffer.from(' ')]))).toBe(false);
    expect(verify(`${secret}x`, headers['moat-signature'] as string, raw)).toBe(false);
    expect(verify(await keyFor(`${r.url}/other`), headers['moat-signature'] as string, raw)).toBe(false);
    const body = JSON.parse(raw.toString('utf8'));
    expect(body).toMatchObject({
      type: 'job.finished',
      job: { id: j.id, service: 'worker', state: 'succeeded', attempts: 1, result: { echo: { n: 7 } }, error: null },
    });
    const after = await waitFor(async () => {
      const v = await g.job(j.id);
      return v.callback.attempts.length === 1 ? v : null;
    }, 'the attempt recorded');
    expect(after.callback.attempts[0]).toMatchObject({ attempt: 1, status: 200, error: null });
  });

  it('sends the callback of a failed job too, with its error', async () => {
    const r = await receiver();
    receivers.push(r);
    const j = await g.submit({ service: 'worker', payload: { steps: 0, fail: true }, callbackUrl: r.url });
    await waitFor(() => r.got.length === 1, 'the callback');
    const body = JSON.parse(r.got[0]!.raw.toString('utf8'));
    expect(body.job).toMatchObject({ id: j.id, state: 'failed', error: { code: 'service_error' } });
    expect(body.job.result).toBeUndefined();
  });

  it('retries a receiver that answers 500, and records each attempt on the job', async () => {
    const r = await receiver([500, 503]);
    receivers.push(r);
    const secret = await keyFor(r.url);
    const j = await g.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
    const done = await waitFor(async () => {
      const v = await g.job(j.id);
      return v.callback.attempts.length === 3 ? v : null;
    }, 'three attempts recorded');
    expect(done.callback.attempts.map((a: { attempt: number; status: number; error: string | null }) => [a.attempt, a.status, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 503, 'HTTP 503'],
      [3, 200, null],
    ]);
    expect(r.got).toHaveLength(3);
    // Each attempt is signed on its own and verifies.
    for (const got of r.got) expect(verify(secret, got.headers['moat-signature'] as string, got.raw)).toBe(true);
    // Backoff: the attempts are in order in time.
    const at = done.callback.attempts.map((a: { at: string }) => Date.parse(a.at));
    expect(at).toEqual([...at].sort((a, b) => a - b));
  });

  it('gives up after callbacks.maxAttempts', async () => {
    const r = await receiver(Array(10).fill(500));
    receivers.push(r);
    const j = await g.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
    await waitFor(async () => (await g.job(j.id)).callback.attempts.length === 5, 'five attempts');
    await waitFor(() => g.logs.lines.some((l) => l.includes(j.id) && l.includes('giving up')), 'gave up');
    expect((await g.job(j.id)).callback.attempts.every((a: { status: number }) => a.status === 500)).toBe(true);
  });
});

describe('a job canceled before it ran', () => {
  it('sends the callback of a canceled queued job at once, signed, and records it', async () => {
    const r = await receiver();
    receivers.push(r);
    // The worker takes one job at a time: the blocker keeps the next one queued for seconds.
    const blocker = await g.submit({ service: 'worker', payload: { steps: 100, stepMs: 50 } });
    await g.until(blocker.id, ['running']);
    const j = await g.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
    const secret = await keyFor(r.url);
    const canceledAt = Date.now();
    const res = await g.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' });
    expect(res.json.state).toBe('canceled');
    // Promptly: well before the blocker is done (5 s), not at the next restart.
    await waitFor(() => r.got.length === 1, 'the callback of the canceled job', 2_000, 10);
    expect(Date.now() - canceledAt).toBeLessThan(2_000);
    expect((await g.job(blocker.id)).state).toBe('running');
    const { headers, raw } = r.got[0]!;
    expect(headers['moat-job-id']).toBe(j.id);
    expect(verify(secret, headers['moat-signature'] as string, raw)).toBe(true);
    expect(JSON.parse(raw.toString('utf8'))).toMatchObject({ type: 'job.finished', job: { id: j.id, service: 'worker', state: 'canceled', attempts: 0 } });
    const after = await waitFor(async () => {
      const v = await g.job(j.id);
      return v.callback.attempts.length === 1 ? v : null;
    }, 'the attempt recorded');
    expect(after.callback.attempts[0]).toMatchObject({ attempt: 1, status: 200, error: null });
    await g.fetch(`/api/v1/jobs/${blocker.id}/cancel`, { method: 'POST' });
    await g.until(blocker.id);
  });

  it('does not send it again at the next boot once it was delivered', async () => {
    const r = await receiver();
    receivers.push(r);
    const allow = { egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } } };
    const first = await startJobsGateway(allow);
    const blocker = await first.submit({ service: 'worker', payload: { steps: 100, stepMs: 50 } });
    await first.until(blocker.id, ['running']);
    const j = await first.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
    await first.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' });
    await waitFor(async () => (await first.job(j.id)).callback.attempts.length === 1, 'the delivered callback');
    await first.fetch(`/api/v1/jobs/${blocker.id}/cancel`, { method: 'POST' });
    await first.until(blocker.id);
    const { dataDir } = first;
    const services = first.gw.config.services;
    await first.stop();
    const again = await startJobsGateway({ dataDir, services: services.slice(1), ...allow });
    try {
      // A job's callback sent after the boot comes after any delivery the boot resumed.
      const marker = await again.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
      await waitFor(() => r.got.some((x) => x.headers['moat-job-id'] === marker.id), 'the marker callback');
      expect(r.got.filter((x) => x.headers['moat-job-id'] === j.id)).toHaveLength(1);
      expect((await again.job(j.id)).callback.attempts).toHaveLength(1);
    } finally {
      await again.stop();
    }
  });
});

describe('across a restart', () => {
  it('resumes a callback that was not delivered when the gateway stopped', async () => {
    const r = await receiver([500]);
    receivers.push(r);
    // The retry is an hour away: only the restart can deliver it.
    const first = await startJobsGateway({ egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } }, callbacks: { retryBaseMs: 3_600_000 } });
    const j = await first.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: r.url });
    await waitFor(async () => (await first.job(j.id)).callback.attempts.length === 1, 'the failed first attempt');
    const { dataDir } = first;
    const services = first.gw.config.services;
    await first.stop();
    const again = await startJobsGateway({ dataDir, services: services.slice(1), egress: { purposes: { callback: { allowCidrs: ['127.0.0.1/32'] } } } });
    try {
      const v = await waitFor(async () => {
        const x = await again.job(j.id);
        return x.callback.attempts.length === 2 ? x : null;
      }, 'the second attempt after the restart');
      expect(v.callback.attempts.map((a: { attempt: number; status: number }) => [a.attempt, a.status])).toEqual([
        [1, 500],
        [2, 200],
      ]);
      expect(r.got).toHaveLength(2);
    } finally {
      await again.stop();
    }
  });
});

describe('the egress guard on callbacks', () => {
  it('refuses a loopback callbackUrl at submission (403 egress_denied) unless the operator opened it', async () => {
    const closed = await startJobsGateway();
    try {
      const res = await closed.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: {}, callbackUrl: 'http://127.0.0.1:9/hook' } });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ code: 'egress_denied', purpose: 'callback' });
      for (const url of ['http://localhost:9/x', 'http://[::1]:9/x', 'http://169.254.169.254/latest/meta-data', 'http://0x7f000001/x', 'file:///etc/passwd']) {
        const r = await closed.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: {}, callbackUrl: url } });
        expect(r.status, url).toBeGreaterThanOrEqual(400);
        expect(r.status, url).toBeLessThan(500);
      }
      expect((await closed.fetch('/api/v1/jobs')).json.jobs).toHaveLength(0);
      // Each refusal is audited and logged with its purpose, host, addresses and reason, and who asked.
      const entries = (await closed.fetch('/api/v1/audit?after=0&limit=1000')).json.entries as Array<{
        type: string;
        actor?: { id: string };
        detail: Record<string, unknown>;
      }>;
      const blocked = entries.filter((e) => e.type === 'egress.blocked');
      expect(blocked[0]).toMatchObject({
        actor: { id: 'admin' },
        requestId: res.headers['x-request-id'],
        detail: { purpose: 'callback', host: '127.0.0.1:9', addresses: ['127.0.0.1'], reason: 'loopback' },
      });
      expect(blocked.map((e) => e.detail['reason'])).toEqual(expect.arrayContaining(['loopback', 'metadata']));
      expect(closed.logs.entries().filter((l) => l['msg'] === 'egress refused: loopback').length).toBeGreaterThan(0);
    } finally {
      await closed.stop();
    }
  });

  it('checks again at delivery: a name that resolved public at submission and loopback later is refused and not retried', async () => {
    const r = await receiver();
    receivers.push(r);
    const port = new URL(r.url).port;
    // First answer (the check at submission): a public address; then loopback (DNS rebinding).
    const rebinding = sequenceResolver([['93.184.216.34'], ['127.0.0.1']]);
    const gw = await startJobsGateway({}, {}, { egressResolver: rebinding });
    try {
      const j = await gw.submit({ service: 'worker', payload: { steps: 0 }, callbackUrl: `http://rebind.example.test:${port}/hook` });
      const v = await waitFor(async () => {
        const x = await gw.job(j.id);
        return x.callback.attempts.length >= 1 ? x : null;
      }, 'the refused attempt');
      expect(v.callback.attempts).toEqual([expect.objectContaining({ attempt: 1, status: null, error: 'egress_denied' })]);
      expect(r.got).toHaveLength(0);
      const audit = await gw.fetch('/api/v1/audit?limit=500');
      expect(JSON.stringify(audit.json)).toContain('egress.blocked');
    } finally {
      await gw.stop();
    }
  });
});
