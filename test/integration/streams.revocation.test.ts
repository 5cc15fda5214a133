/**
 * A connection that outlives its request ends with the token it came in with: an event stream
 * (SSE or WebSocket) or a proxied WebSocket is closed when its token is revoked, expires, or (the
 * admin token) is rotated, each audited as stream.ended; streams of other tokens stay open, and a
 * reconnect with the dead token is refused like any request. Each close is checked for what it
 * says (the end event and its reason, the close code), and "stays open" is shown by an event that
 * still arrives, never by a wait: a slow machine cannot make these pass for another reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readEntries } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { spec, waitFor, workerService } from '../helpers/services.js';
import { connectWs, openSse, type SseStream } from '../helpers/streams.js';

let g: TestGateway;
/** The gateway's clock runs with real time plus this offset (expiry is tested by moving it). */
let offset = 0;

beforeAll(async () => {
  g = await startGateway(
    { services: [spec(await workerService('worker'))], supervisor: { stopGraceMs: 1000 }, limits: { maxStreams: 20 } },
    { now: () => Date.now() + offset },
  );
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});
afterAll(async () => {
  await g?.stop();
});

async function mint(name: string, scopes: string[], ttlSeconds?: number): Promise<{ id: string; token: string }> {
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes, ...(ttlSeconds ? { ttlSeconds } : {}) } });
  expect(res.status).toBe(201);
  return res.json;
}

const revoke = (id: string) => g.fetch(`/api/v1/tokens/${id}`, { method: 'DELETE' });

/** What an event stream says when its token stops working (routes/events.ts). */
const END_REASON = 'the token of this stream was revoked or expired';

/**
 * Shows that `s` is still open and subscribed: a task created now reaches it as an event (and the
 * stream has not ended). An event that arrives is the proof, not the absence of a close in a while.
 */
async function stillOpen(s: SseStream): Promise<void> {
  const task = await g.fetch('/api/v1/tasks', { method: 'POST', body: { title: 'a task that every reader sees' } });
  expect(task.status).toBe(201);
  await s.until((e) => e.event === 'task.created' && e.data.id === task.json.id, 'the new task on the stream');
  expect(s.events.filter((e) => e.event === 'end')).toEqual([]);
}

async function ended(tokenId: string): Promise<Array<Record<string, any>>> {
  await g.fetch('/api/v1/audit?after=0&limit=1'); // waits for what was recorded to reach the file
  return readEntries(g.dataDir).filter((e) => e.type === 'stream.ended' && e.actor?.id === tokenId);
}

describe('an event stream (SSE)', () => {
  it("ends when its token is revoked; another token's stream stays open; the dead token cannot reconnect", async () => {
    const a = await mint('sse-a', ['read']);
    const b = await mint('sse-b', ['read']);
    const sa = await openSse(g.url, a.token);
    const sb = await openSse(g.url, b.token);
    expect([sa.status, sb.status]).toEqual([200, 200]);
    await waitFor(() => sa.comments.includes('connected') && sb.comments.includes('connected'), 'both connected');
    expect((await revoke(a.id)).status).toBe(200);
    const end = await sa.until((e) => e.event === 'end', 'end event');
    expect(end.data).toEqual({ reason: END_REASON });
    await sa.closed;
    await stillOpen(sb);
    const again = await openSse(g.url, a.token);
    expect(again.status).toBe(401);
    expect(await ended(a.id)).toEqual([
      expect.objectContaining({ outcome: 'ok', actor: { id: a.id, name: 'sse-a' }, detail: { stream: 'events', reason: 'revoked' } }),
    ]);
    expect(await ended(b.id)).toEqual([]);
    sb.close();
  });

  it('ends when its token expires, without any request arriving', async () => {
    const t = await mint('sse-short', ['read'], 60);
    const s = await openSse(g.url, t.token);
    expect(s.status).toBe(200);
    await waitFor(() => s.comments.includes('connected'), 'connected');
    await stillOpen(s);
    offset += 61_000;
    expect((await s.until((e) => e.event === 'end', 'end event on expiry')).data).toEqual({ reason: END_REASON });
    await s.closed;
    expect((await ended(t.id)).map((e) => e.detail)).toEqual([{ stream: 'events', reason: 'expired' }]);
  });
});

describe('an event WebSocket', () => {
  it('is closed with 1008 when its token is revoked', async () => {
    const t = await mint('ws-events', ['read']);
    const r = await connectWs(`${g.url.replace(/^http/, 'ws')}/api/v1/ws`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(r.open).toBe(true);
    if (!r.open) return;
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      r.client.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    await revoke(t.id);
    expect(await closed).toEqual({ code: 1008, reason: 'token revoked or expired' });
    expect((await ended(t.id)).map((e) => e.detail)).toEqual([{ stream: 'events-ws', reason: 'revoked' }]);
  });
});

describe('a proxied WebSocket', () => {
  it("is cut when its token is revoked (another token's stays open), and a new one with that token is refused", async () => {
    const t = await mint('ws-proxy', ['svc:worker']);
    const other = await mint('ws-proxy-other', ['svc:worker']);
    const url = `${g.url.replace(/^http/, 'ws')}/svc/worker/ws`;
    const open = async (token: string) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return ws;
    };
    const echo = (ws: WebSocket, text: string) => {
      const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
      ws.send(text);
      return echoed;
    };
    const ws = await open(t.token);
    const kept = await open(other.token);
    expect(await echo(ws, 'still here')).toBe('still here');
    // The gateway cuts the connection itself (no close frame from the service): 1006 at the client.
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    await revoke(t.id);
    expect(await closed).toBe(1006);
    // The service is fine and the other token's socket still works: the cut was the token's.
    expect(await echo(kept, 'and still here')).toBe('and still here');
    kept.close();
    const refused = await new Promise<number>((resolve) => {
      const again = new WebSocket(url, { headers: { authorization: `Bearer ${t.token}` } });
      again.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      again.once('open', () => resolve(101));
      again.on('error', () => undefined);
    });
    expect(refused).toBe(401);
    expect((await ended(t.id)).map((e) => e.detail)).toEqual([{ stream: 'proxy-ws', reason: 'revoked' }]);
  });
});

describe('the admin token', () => {
  it('ends its streams when rotated', async () => {
    const s = await openSse(g.url, g.token);
    await waitFor(() => s.comments.includes('connected'), 'connected');
    expect((await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' })).status).toBe(200);
    expect((await s.until((e) => e.event === 'end', 'end event on rotation')).data).toEqual({ reason: END_REASON });
    await s.closed;
    // The test client follows the gateway's token, which is the new one now.
    expect((await ended('admin')).map((e) => e.detail)).toEqual([{ stream: 'events', reason: 'rotated' }]);
  });
});
