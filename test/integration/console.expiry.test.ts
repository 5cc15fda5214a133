/**
 * A console session ends on its own (idle timeout, absolute lifetime: moved with the gateway's
 * test clock) or by an act (sign-out, an admin's revocation, an admin-token rotation), and each
 * end closes the session's open event streams at once with `event: end` and its cause; a later
 * request gets 401 session_invalid. Sessions outlive a gateway restart, their times included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { asPage, originOf, signIn, type Session } from '../helpers/console.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';
import { openSse, type SseStream } from '../helpers/streams.js';

let g: TestGateway;
/** The gateway's clock runs with real time plus this offset. */
let offset = 0;
const dataDir = tmpDir();
const CONSOLE = { sessionIdleSeconds: 60, sessionMaxAgeSeconds: 300 };

beforeAll(async () => {
  g = await startGateway({ dataDir, console: CONSOLE, limits: { maxStreams: 20 } }, { now: () => Date.now() + offset });
});
afterAll(() => g?.stop());

/** The console's EventSource: the cookie and same-origin fetch metadata, no token. */
async function pageStream(s: Session): Promise<SseStream> {
  const stream = await openSse(g.url, false, { cookie: s.cookie, 'sec-fetch-site': 'same-origin' });
  expect(stream.status).toBe(200);
  await waitFor(() => stream.comments.includes('connected'), 'stream connected');
  return stream;
}

async function audited(type: string, sessionId: string): Promise<Array<Record<string, any>>> {
  await g.fetch('/api/v1/audit?after=0&limit=1');
  return readEntries(g.dataDir).filter((e) => e.type === type && (e.detail?.sessionId === sessionId || e.actor?.id === sessionId));
}

describe('the idle timeout and the absolute lifetime', () => {
  it('keeps a used session alive, and ends it after console.sessionIdleSeconds without a request', async () => {
    const s = await signIn(g);
    for (let i = 0; i < 3; i++) {
      offset += 50_000;
      expect((await asPage(g, s, '/api/v1/me')).status).toBe(200);
    }
    offset += 61_000;
    const res = await asPage(g, s, '/api/v1/me');
    expect([res.status, res.json.code]).toEqual([401, 'session_invalid']);
    expect((await audited('session.expired', s.id))[0]).toMatchObject({ outcome: 'ok', detail: { sessionId: s.id, reason: 'idle' } });
  });

  it('ends a session at console.sessionMaxAgeSeconds however much it is used', async () => {
    const s = await signIn(g);
    for (let i = 0; i < 5; i++) {
      offset += 55_000;
      expect((await asPage(g, s, '/api/v1/me')).status, `after ${(i + 1) * 55} s`).toBe(200);
    }
    offset += 30_000; // 305 s after sign-in, 30 s after the last request
    const res = await asPage(g, s, '/api/v1/me');
    expect([res.status, res.json.code]).toEqual([401, 'session_invalid']);
    expect((await audited('session.expired', s.id))[0]?.detail).toMatchObject({ reason: 'max_age' });
  });

  it('says when it will end: /api/v1/me and the list give the absolute and the idle end', async () => {
    const s = await signIn(g, ['admin']);
    const list = (await asPage(g, s, '/api/v1/sessions')).json.sessions.find((x: any) => x.id === s.id);
    expect(Date.parse(list.expiresAt) - Date.parse(list.createdAt)).toBe(300_000);
    expect(Date.parse(list.idleExpiresAt) - Date.parse(list.lastUsedAt)).toBe(60_000);
    expect((await asPage(g, s, '/api/v1/me')).json).toMatchObject({ expiresAt: list.expiresAt, idleTimeoutSeconds: 60 });
  });
});

describe('open event streams end with their session', () => {
  it("ends on sign-out with cause signed_out; another session's stream stays open", async () => {
    const a = await signIn(g);
    const b = await signIn(g);
    const sa = await pageStream(a);
    const sb = await pageStream(b);
    expect((await asPage(g, a, '/api/v1/console/session', { method: 'DELETE' })).status).toBe(204);
    const end = await sa.until((e) => e.event === 'end', 'end event');
    expect(end.data).toEqual({ reason: 'it was signed out', cause: 'signed_out' });
    await sa.closed;
    expect(sb.events.some((e) => e.event === 'end')).toBe(false);
    const again = await openSse(g.url, false, { cookie: a.cookie, 'sec-fetch-site': 'same-origin' });
    expect([again.status, again.problem?.code]).toEqual([401, 'session_invalid']);
    sb.close();
    expect((await audited('stream.ended', a.id))[0]?.detail).toEqual({ stream: 'events', reason: 'signed_out' });
  });

  it('ends when another (admin) session revokes it, with cause revoked', async () => {
    const adminPage = await signIn(g, ['admin']);
    const victim = await signIn(g);
    const s = await pageStream(victim);
    expect((await asPage(g, adminPage, `/api/v1/sessions/${victim.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await s.until((e) => e.event === 'end', 'end event')).data.cause).toBe('revoked');
    await s.closed;
    expect((await asPage(g, victim, '/api/v1/me')).json.code).toBe('session_invalid');
    expect((await audited('session.revoked', victim.id))[0]).toMatchObject({ actor: { id: adminPage.id } });
  });

  it('ends, without any request arriving, when the session passes its idle timeout (an open stream is not activity)', async () => {
    const s = await signIn(g);
    const stream = await pageStream(s);
    offset += 61_000;
    expect((await stream.until((e) => e.event === 'end', 'end event on idle expiry')).data.cause).toBe('expired');
    await stream.closed;
  });
});

describe('rotating the admin token', () => {
  it('ends every console session and its streams at once; new sign-ins work with the new token', async () => {
    const a = await signIn(g, ['admin']);
    const b = await signIn(g, ['read']);
    const sa = await pageStream(a);
    const sb = await pageStream(b);
    const rotated = await asPage(g, a, '/api/v1/tokens/rotate-admin', { method: 'POST' });
    expect(rotated.status).toBe(200);
    for (const s of [sa, sb]) {
      expect((await s.until((e) => e.event === 'end', 'end event on rotation')).data.cause).toBe('rotated');
      await s.closed;
    }
    for (const s of [a, b]) expect((await asPage(g, s, '/api/v1/me')).json.code).toBe('session_invalid');
    expect((await g.fetch('/api/v1/sessions', { auth: g.gw.token })).json.sessions).toEqual([]);
    const c = await signIn({ ...g, fetch: (p, i = {}) => g.fetch(p, { ...i, auth: i.auth ?? g.gw.token }) } as TestGateway, ['read']);
    expect((await asPage(g, c, '/api/v1/me')).status).toBe(200);
  });
});

describe('a restart', () => {
  it('keeps live sessions (the database holds their hashes and times) and forgets none of their rules', async () => {
    const token = () => g.gw.token;
    const asAdmin = { ...g, fetch: (p: string, i: Parameters<TestGateway['fetch']>[1] = {}) => g.fetch(p, { ...i, auth: i.auth ?? token() }) } as TestGateway;
    const s = await signIn(asAdmin, ['read']);
    expect((await asPage(g, s, '/api/v1/me')).status).toBe(200);
    await g.stop();
    g = await startGateway({ dataDir, console: CONSOLE, limits: { maxStreams: 20 } }, { now: () => Date.now() + offset });
    const me = await g.fetch('/api/v1/me', { auth: false, headers: { cookie: s.cookie, 'sec-fetch-site': 'same-origin' } });
    expect(me.json).toMatchObject({ kind: 'session', id: s.id, scopes: ['read'] });
    // The CSRF rule and the idle timeout hold after the restart as before it.
    expect((await g.fetch('/api/v1/me', { auth: false, headers: { cookie: s.cookie, 'sec-fetch-site': 'same-site', origin: originOf(g) } })).json.code).toBe(
      'csrf_refused',
    );
    offset += 61_000;
    expect((await asPage(g, s, '/api/v1/me')).json.code).toBe('session_invalid');
  });
});
