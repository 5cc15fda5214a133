/**
 * GET /api/v1/events (SSE): job, service and schedule events in order, only for authenticated
 * clients and only the families their scopes may read; Last-Event-ID replays exactly the missed
 * events, an id that cannot be resumed gets a reset event; streams are capped by limits.maxStreams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsGateway, tokenWith, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';
import { openSse, openStreams, type SseStream } from '../helpers/streams.js';

let g: JobsGateway;
const open: SseStream[] = [];
beforeAll(async () => {
  g = await startJobsGateway({ limits: { maxStreams: 6 } });
});
afterAll(async () => {
  for (const s of open) s.close();
  await g?.stop();
});

async function sse(token: string | false, headers: Record<string, string> = {}): Promise<SseStream> {
  const s = await openSse(g.url, token, headers);
  open.push(s);
  return s;
}

/** Closes every stream and waits until the gateway released their slots (it does when it sees the socket close). */
async function closeAll(): Promise<void> {
  const all = open.splice(0);
  for (const s of all) s.close();
  await waitFor(() => openStreams(g) === 0, 'streams released');
}

describe('the event stream', () => {
  it('streams a job from queued to succeeded, with progress, as text/event-stream', async () => {
    const s = await sse(g.token);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    const j = await g.submit({ service: 'worker', payload: { steps: 4, stepMs: 150, secret: 'never-in-events' } });
    await s.until((e) => e.event === 'job.succeeded' && e.data.id === j.id, 'job.succeeded');
    const mine = s.events.filter((e) => e.data.id === j.id);
    const types = mine.map((e) => e.event);
    expect(types[0]).toBe('job.queued');
    expect(types).toContain('job.dispatched');
    expect(types).toContain('job.running');
    expect(types).toContain('job.progress');
    expect(types.at(-1)).toBe('job.succeeded');
    expect(types.indexOf('job.dispatched')).toBeLessThan(types.indexOf('job.running'));
    // Ids increase; events carry no payloads or results.
    const seqs = mine.map((e) => Number(e.id!.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(JSON.stringify(mine)).not.toContain('never-in-events');
    s.close();
  });

  it('refuses a client without a token (401) and with a bad one', async () => {
    const none = await sse(false);
    expect(none.status).toBe(401);
    expect(none.problem.code).toBe('auth_required');
    const bad = await sse('mt_not-a-real-token-000000000000000000000');
    expect(bad.status).toBe(401);
  });

  it('shows a token with scope services only the service events, never job events', async () => {
    const servicesOnly = await tokenWith(g, ['services']);
    const jobsOnly = await tokenWith(g, ['jobs']);
    const svc = await sse(servicesOnly);
    const jobs = await sse(jobsOnly);
    const admin = await sse(g.token);
    const j = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await admin.until((e) => e.event === 'job.succeeded' && e.data.id === j.id, 'the admin saw the job finish');
    await g.fetch('/api/v1/schedules', { method: 'POST', body: { name: 'seen-by-jobs', cron: '0 3 * * *', service: 'worker' } });
    // A service event after the job's: once the services-only stream has it, it had its chance at the job's.
    expect((await g.fetch('/api/v1/services/worker/restart', { method: 'POST' })).status).toBe(200);
    await svc.until((e) => e.data.service === 'worker' && e.event.startsWith('service.'), 'a service event');
    expect(svc.events.filter((e) => e.event.startsWith('job.') || e.event.startsWith('schedule.'))).toEqual([]);
    // The jobs token sees jobs and schedules, not services.
    await jobs.until((e) => e.event === 'schedule.added', 'schedule.added');
    expect(jobs.events.some((e) => e.event === 'job.succeeded' && e.data.id === j.id)).toBe(true);
    await admin.until((e) => e.event.startsWith('service.'), 'the admin saw the restart');
    const lastService = admin.events.filter((e) => e.event.startsWith('service.')).at(-1)!;
    await jobs.until((e) => Number(e.id!.split('-')[1]) >= Number(lastService.id!.split('-')[1]) || e.event === 'job.queued', 'caught up');
    expect(jobs.events.filter((e) => e.event.startsWith('service.'))).toEqual([]);
    await closeAll();
    await waitFor(async () => (await g.fetch('/api/v1/services/worker')).json.state === 'healthy', 'worker healthy again');
  });
});

describe('Last-Event-ID', () => {
  it('replays exactly the events missed while disconnected, then continues live', async () => {
    const witness = await sse(g.token); // stays connected throughout
    const first = await sse(g.token);
    const a = await g.submit({ service: 'worker', payload: { steps: 0 } });
    const seen = await first.until((e) => e.event === 'job.succeeded' && e.data.id === a.id, 'first job done');
    first.close();
    // While disconnected: two more jobs run.
    const b = await g.submit({ service: 'worker', payload: { steps: 1, stepMs: 5 } });
    const c = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await g.until(b.id);
    await g.until(c.id);
    await witness.until((e) => e.event === 'job.succeeded' && e.data.id === c.id, 'the witness saw the last one');
    const resumed = await sse(g.token, { 'last-event-id': seen.id! });
    expect(resumed.status).toBe(200);
    const lastMissed = witness.events.at(-1)!;
    await resumed.until((e) => e.id === lastMissed.id, 'the replay reached the last missed event');
    const missed = witness.events.slice(witness.events.findIndex((e) => e.id === seen.id) + 1);
    expect(resumed.events.slice(0, missed.length).map((e) => [e.id, e.event])).toEqual(missed.map((e) => [e.id, e.event]));
    expect(resumed.events.some((e) => e.id === seen.id)).toBe(false);
    // And live events follow.
    const d = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await resumed.until((e) => e.event === 'job.succeeded' && e.data.id === d.id, 'a live event after the replay');
    await closeAll();
  });

  it.each([
    ['an id from another run of the gateway', '00000000-5'],
    ['an id ahead of the stream', null],
    ['an id that is not one', 'garbage'],
  ])('sends a reset event for %s', async (_what, fixed) => {
    let id = fixed;
    if (id === null) {
      // This run's boot id, from an event of this run.
      const probe = await sse(g.token);
      const j = await g.submit({ service: 'worker', payload: { steps: 0 } });
      const e = await probe.until((x) => x.data.id === j.id, 'an event of this run');
      id = `${e.id!.split('-')[0]}-999999999`;
      await g.until(j.id);
    }
    const s = await sse(g.token, { 'last-event-id': id });
    const reset = await s.until((e) => e.event === 'reset', 'reset');
    expect(reset.data.reason).toMatch(/refetch/);
    await closeAll();
  });
});

describe('limits.maxStreams', () => {
  it('refuses the stream over the cap with 503 too_many_streams, and takes one again once a slot is free', async () => {
    await closeAll();
    const streams = [];
    for (let i = 0; i < 6; i++) streams.push(await sse(g.token));
    expect(streams.every((s) => s.status === 200)).toBe(true);
    const over = await sse(g.token);
    expect(over.status).toBe(503);
    expect(over.problem.code).toBe('too_many_streams');
    expect(over.headers['retry-after']).toBeDefined();
    // Ordinary requests are not streams: they still pass.
    expect((await g.fetch('/api/v1/jobs?limit=1')).status).toBe(200);
    streams[0]!.close();
    await waitFor(async () => {
      const s = await sse(g.token);
      if (s.status === 200) return true;
      s.close();
      return false;
    }, 'a slot freed');
    await closeAll();
  });
});

describe('a client that stops reading', () => {
  it('is cut off once more than 1 MiB waits for it, instead of being buffered without bound', async () => {
    await closeAll();
    const net = await import('node:net');
    const { port } = new URL(g.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET /api/v1/events HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${g.token}\r\naccept: text/event-stream\r\n\r\n`);
    await waitFor(() => openStreams(g) === 1, 'the stream is open');
    socket.pause(); // reads nothing from now on
    const closed = new Promise((r) => socket.once('close', r));
    // Events are published by the gateway's own bus (a flood of job events would do the same, slower).
    const bus = g.gw.parts.events;
    const filler = 'x'.repeat(4096);
    for (let i = 0; i < 2000 && openStreams(g) === 1; i++) {
      bus.publish('job.progress', 'jobs', { id: 'job_flood', message: filler });
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => openStreams(g) === 0, 'the stalled stream was cut off');
    socket.resume();
    await closed;
  });
});
