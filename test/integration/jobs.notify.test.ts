/**
 * Notifications of finished jobs through ntfy and a signed webhook, via the egress guard (purpose
 * notify): they say which job finished and how, never what it was sent or what it answered.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
}

const hits: Hit[] = [];
let server: http.Server;
let base: string;
let g: JobsGateway;
const TOPIC = randomBytes(16).toString('hex');
const SECRET_MARK = `do-not-tell-${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  g = await startJobsGateway({
    notifications: { ntfy: { url: base, topic: TOPIC }, webhook: { url: `${base}/webhook` } },
    egress: { purposes: { notify: { allowCidrs: ['127.0.0.1/32'] } } },
  });
});
afterAll(async () => {
  await g?.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

const ntfyHits = (id: string) => hits.filter((h) => h.url === `/${TOPIC}` && h.raw.includes(id));
const webhookHits = (id: string) => hits.filter((h) => h.url === '/webhook' && h.raw.includes(id));

describe('notifications', () => {
  it('posts to the ntfy topic and to the webhook when a job finishes, without its payload or result', async () => {
    const j = await g.submit({ service: 'worker', notify: true, payload: { steps: 0, secret: SECRET_MARK } });
    await waitFor(() => ntfyHits(j.id).length === 1 && webhookHits(j.id).length === 1, 'both notifications');
    const ntfy = ntfyHits(j.id)[0]!;
    expect(ntfy.method).toBe('POST');
    expect(ntfy.raw).toBe(`job ${j.id} on worker: succeeded`);
    expect(ntfy.headers['title']).toBe('moat: job succeeded');
    const hook = webhookHits(j.id)[0]!;
    expect(JSON.parse(hook.raw)).toEqual({ type: 'job.finished', id: j.id, service: 'worker', state: 'succeeded' });
    // The webhook is signed like a callback: with the key of its own URL.
    const secret = (await g.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent(`${base}/webhook`)}`)).json.secret as string;
    const m = /^t=(\d+),v2=([0-9a-f]{64})$/.exec(hook.headers['moat-signature'] as string)!;
    expect(createHmac('sha256', secret).update(`${m[1]}.${hook.raw}`).digest('hex')).toBe(m[2]);
    // Nothing of what the job was sent or answered, nor any secret, in any header or body.
    for (const h of [ntfy, hook]) {
      const all = JSON.stringify(h);
      expect(all).not.toContain(SECRET_MARK);
      expect(all).not.toContain('echo');
      expect(all).not.toContain(g.token);
      expect(all).not.toContain(secret);
    }
  });

  it('notifies a failed job, and only through the channels the job asked for', async () => {
    const j = await g.submit({ service: 'worker', notify: ['webhook'], payload: { steps: 0, fail: true, secret: SECRET_MARK } });
    await waitFor(() => webhookHits(j.id).length === 1, 'the webhook');
    expect(JSON.parse(webhookHits(j.id)[0]!.raw).state).toBe('failed');
    // A later job that asks for ntfy is notified; by then this one would have been too.
    const later = await g.submit({ service: 'worker', notify: ['ntfy'], payload: { steps: 0 } });
    await waitFor(() => ntfyHits(later.id).length === 1, 'the later ntfy');
    expect(ntfyHits(j.id)).toHaveLength(0);
    expect(JSON.stringify(hits)).not.toContain(SECRET_MARK);
  });

  it('notifies a queued job that was canceled, at once', async () => {
    // The worker takes one job at a time: the blocker keeps the next one queued for seconds.
    const blocker = await g.submit({ service: 'worker', payload: { steps: 100, stepMs: 50 } });
    await g.until(blocker.id, ['running']);
    const j = await g.submit({ service: 'worker', notify: true, payload: { steps: 0, secret: SECRET_MARK } });
    expect((await g.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' })).json.state).toBe('canceled');
    await waitFor(() => ntfyHits(j.id).length === 1 && webhookHits(j.id).length === 1, 'both notifications of the canceled job', 2_000, 10);
    expect((await g.job(blocker.id)).state).toBe('running');
    expect(ntfyHits(j.id)[0]!.raw).toBe(`job ${j.id} on worker: canceled`);
    expect(JSON.parse(webhookHits(j.id)[0]!.raw)).toEqual({ type: 'job.finished', id: j.id, service: 'worker', state: 'canceled' });
    await g.fetch(`/api/v1/jobs/${blocker.id}/cancel`, { method: 'POST' });
    await g.until(blocker.id);
    expect(JSON.stringify(hits)).not.toContain(SECRET_MARK);
  });

  it('notifies a job canceled while it waited for its retry, at once', async () => {
    // Twenty attempts 50-200 ms apart: seconds of waiting for a retry to cancel in.
    const j = await g.submit({ service: 'worker', notify: ['webhook'], maxAttempts: 20, payload: { steps: 0, failAttempts: 20 } });
    await waitFor(
      async () => {
        const v = await g.job(j.id);
        return v.state === 'queued' && v.attempts >= 1;
      },
      'waiting for a retry',
      10_000,
      5,
    );
    expect((await g.fetch(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' })).json.state).toBe('canceled');
    await waitFor(() => webhookHits(j.id).length === 1, 'the webhook of the canceled job', 2_000, 10);
    expect(JSON.parse(webhookHits(j.id)[0]!.raw).state).toBe('canceled');
  });

  it('sends nothing for a job that asked for no notification', async () => {
    const quiet = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await g.until(quiet.id);
    const marker = await g.submit({ service: 'worker', notify: true, payload: { steps: 0 } });
    await waitFor(() => webhookHits(marker.id).length === 1 && ntfyHits(marker.id).length === 1, 'the marker job');
    expect(hits.filter((h) => h.raw.includes(quiet.id))).toHaveLength(0);
  });

  it('does not reach a loopback notifier that the operator did not open: refused by the egress guard, logged', async () => {
    const closed = await startJobsGateway({ notifications: { webhook: { url: `${base}/webhook` } } });
    try {
      const j = await closed.submit({ service: 'worker', notify: ['webhook'], payload: { steps: 0 } });
      await waitFor(() => closed.logs.lines.some((l) => l.includes('notification not delivered') && l.includes(j.id)), 'refused');
      expect(closed.logs.lines.find((l) => l.includes('notification not delivered') && l.includes(j.id))).toContain('egress_denied');
      expect(webhookHits(j.id)).toHaveLength(0);
    } finally {
      await closed.stop();
    }
  });
});
