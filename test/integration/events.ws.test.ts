/**
 * GET /api/v1/ws (WebSocket): the token comes from Authorization or from Sec-WebSocket-Protocol
 * (`moat.v1, moat.bearer.<token>`; the server picks moat.v1 and never echoes the token), never from
 * the query string; a refusal is a 401 problem before any upgrade. Events are filtered by scope and
 * the socket counts against limits.maxStreams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsGateway, tokenWith, type JobsGateway } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';
import { connectWs, openStreams, type WsClient } from '../helpers/streams.js';

let g: JobsGateway;
let wsUrl: string;
const clients: WsClient[] = [];
beforeAll(async () => {
  // The refusals below count towards the lockout of this one client; it is raised so that they can
  // all be shown from one address (lockout itself is tested in lockout.test.ts).
  g = await startJobsGateway({ limits: { maxStreams: 3 }, lockout: { after: 100 } });
  wsUrl = `${g.url.replace(/^http/, 'ws')}/api/v1/ws`;
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await g?.stop();
});

async function closeAll(): Promise<void> {
  for (const c of clients.splice(0)) await c.close();
  await waitFor(() => openStreams(g) === 0, 'slots released');
}

describe('accepted', () => {
  it('with Authorization: Bearer, and streams job events as JSON messages', async () => {
    const r = await connectWs(wsUrl, { headers: { authorization: `Bearer ${g.token}` } });
    expect(r.open).toBe(true);
    if (!r.open) return;
    clients.push(r.client);
    const j = await g.submit({ service: 'worker', payload: { steps: 4, stepMs: 150, secret: 'not-on-the-wire' } });
    const done = await r.client.until((m) => m.type === 'job.succeeded' && m.data.id === j.id, 'job.succeeded');
    expect(done).toMatchObject({ type: 'job.succeeded', data: { id: j.id, service: 'worker', state: 'succeeded' } });
    expect(done.id).toMatch(/^[0-9a-f]{8}-\d+$/);
    const types = r.client.messages.filter((m) => m.data.id === j.id).map((m) => m.type);
    expect(types[0]).toBe('job.queued');
    expect(types).toContain('job.progress');
    expect(JSON.stringify(r.client.messages)).not.toContain('not-on-the-wire');
    await closeAll();
  });

  it('with Sec-WebSocket-Protocol: moat.v1, moat.bearer.<token>: the server picks moat.v1 and never echoes the token', async () => {
    const r = await connectWs(wsUrl, { protocols: ['moat.v1', `moat.bearer.${g.token}`] });
    expect(r.open).toBe(true);
    if (!r.open) return;
    clients.push(r.client);
    expect(r.protocol).toBe('moat.v1');
    expect(r.responseHeaders['sec-websocket-protocol']).toBe('moat.v1');
    expect(JSON.stringify(r.responseHeaders)).not.toContain(g.token);
    const j = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await r.client.until((m) => m.type === 'job.succeeded' && m.data.id === j.id, 'job.succeeded');
    await closeAll();
  });

  it('filters by scope: a services-only token gets no job events', async () => {
    const servicesOnly = await tokenWith(g, ['services']);
    const svc = await connectWs(wsUrl, { protocols: ['moat.v1', `moat.bearer.${servicesOnly}`] });
    const admin = await connectWs(wsUrl, { headers: { authorization: `Bearer ${g.token}` } });
    if (!svc.open || !admin.open) throw new Error('not open');
    clients.push(svc.client, admin.client);
    const j = await g.submit({ service: 'worker', payload: { steps: 0 } });
    await admin.client.until((m) => m.type === 'job.succeeded' && m.data.id === j.id, 'the admin saw the job');
    await g.fetch('/api/v1/services/worker/restart', { method: 'POST' });
    await svc.client.until((m) => m.type.startsWith('service.'), 'a service event after the job');
    expect(svc.client.messages.filter((m) => m.type.startsWith('job.'))).toEqual([]);
    await closeAll();
    await waitFor(async () => (await g.fetch('/api/v1/services/worker')).json.state === 'healthy', 'worker healthy again');
  });
});

describe('refused before the upgrade', () => {
  it('without a token: 401 auth_required as a problem document, no upgrade', async () => {
    const r = await connectWs(wsUrl);
    expect(r.open).toBe(false);
    if (r.open) return;
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r.headers['upgrade']).toBeUndefined();
    expect(r.body.code).toBe('auth_required');
  });

  it.each(['token', 'access_token', 'auth', 'bearer'])('with a valid token in the query string (?%s=): 401 token_invalid', async (param) => {
    const r = await connectWs(`${wsUrl}?${param}=${encodeURIComponent(g.token)}`);
    expect(r.open).toBe(false);
    if (r.open) return;
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('token_invalid');
    expect(JSON.stringify(r.body)).not.toContain(g.token);
  });

  it('with a token in the query string even beside a valid Authorization header', async () => {
    const r = await connectWs(`${wsUrl}?token=${encodeURIComponent(g.token)}`, { headers: { authorization: `Bearer ${g.token}` } });
    expect(r.open).toBe(false);
  });

  it('with a wrong token in either place', async () => {
    for (const attempt of [
      { headers: { authorization: 'Bearer mt_wrong-wrong-wrong-wrong-wrong-wrong-00' } },
      { protocols: ['moat.v1', 'moat.bearer.mt_wrong-wrong-wrong-wrong-wrong-wrong-00'] },
    ]) {
      const r = await connectWs(wsUrl, attempt);
      expect(r.open).toBe(false);
      if (!r.open) expect(r.status).toBe(401);
    }
  });

  it('over limits.maxStreams: 503 too_many_streams, shared with SSE', async () => {
    await closeAll();
    for (let i = 0; i < 3; i++) {
      const r = await connectWs(wsUrl, { headers: { authorization: `Bearer ${g.token}` } });
      if (!r.open) throw new Error(`stream ${i} refused`);
      clients.push(r.client);
    }
    const over = await connectWs(wsUrl, { headers: { authorization: `Bearer ${g.token}` } });
    expect(over.open).toBe(false);
    if (!over.open) {
      expect(over.status).toBe(503);
      expect(over.body.code).toBe('too_many_streams');
    }
    const sse = await g.fetch('/api/v1/events', { headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(503);
    await closeAll();
  });
});

describe('a misbehaving client', () => {
  it('is closed for a message over the 4 KiB cap (1009), and the gateway carries on', async () => {
    const r = await connectWs(wsUrl, { headers: { authorization: `Bearer ${g.token}` } });
    if (!r.open) throw new Error('not open');
    const closed = new Promise<number>((resolve) => r.client.ws.once('close', (code) => resolve(code)));
    r.client.ws.on('error', () => undefined);
    r.client.ws.send('x'.repeat(10_000));
    expect(await closed).toBe(1009);
    expect((await g.fetch('/api/v1/jobs?limit=1')).status).toBe(200);
    await waitFor(() => openStreams(g) === 0, 'slot released');
  });
});
