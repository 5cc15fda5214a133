/**
 * Console sessions from outside: a console code (its digits or its sign-in link) is traded once
 * for an opaque HttpOnly SameSite=Strict cookie that the database keeps only as a hash; the session
 * has the code's scopes, answers GET /api/v1/me, is listed beside tokens, and ends by sign-out or by
 * an admin's revocation, every one of these audited.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { asPage, cookieOf, exchange, mintConsoleCode, signIn } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';
import { openSse } from '../helpers/streams.js';

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway({ lockout: { after: 1000 }, rateLimit: { pair: { perMinute: 1000 } } });
});
afterAll(() => g?.stop());

async function audited(type: string): Promise<Array<Record<string, any>>> {
  await g.fetch('/api/v1/audit?after=0&limit=1'); // waits for what was recorded to reach the file
  return readEntries(g.dataDir).filter((e) => e.type === type);
}

describe('minting a console code', () => {
  it('gives 6 digits and a sign-in link holding a separate 256-bit code, never a token', async () => {
    const m = await mintConsoleCode(g, ['read', 'jobs']);
    expect(m.code).toMatch(/^\d{6}$/);
    expect(m.signinUrl).toBe(`${g.url}/console/#signin=${m.link}`);
    expect(m.link).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(m.link).not.toContain(m.code);
    expect(m.signinUrl).not.toMatch(/moat_/);
    expect(m).toMatchObject({ console: true, scopes: ['read', 'jobs'] });
  });

  it('gives an admin console code no digits (6 digits never carry admin), only the link', async () => {
    const m = await mintConsoleCode(g, ['admin']);
    expect(m.code).toBeNull();
    const s = await exchange(g, m.link);
    expect(s.status).toBe(201);
    expect(s.json.scopes).toEqual(['admin']);
    const plain = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['admin'] } });
    expect(plain.status).toBe(400);
  });

  it('refuses a token lifetime on a console code (a session lives console.sessionMaxAgeSeconds)', async () => {
    const res = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'], console: true, tokenTtlSeconds: 600 } });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_failed');
  });
});

describe('the sign-in exchange', () => {
  it('answers 201 with the session and an HttpOnly SameSite=Strict Path=/ cookie (no Secure, no __Host- on plain HTTP)', async () => {
    const m = await mintConsoleCode(g, ['read']);
    const res = await exchange(g, m.code as string);
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      id: expect.stringMatching(/^ses_/),
      name: 'console',
      scopes: ['read'],
      expiresAt: expect.any(String),
      idleTimeoutSeconds: 1800,
    });
    expect(Date.parse(res.json.expiresAt) - Date.now()).toBeGreaterThan(43_100_000);
    const c = cookieOf(res);
    expect(c.pair).toMatch(/^moat_session=[A-Za-z0-9_-]{43}$/);
    const attrs = c.setCookie.split(';').map((a) => a.trim());
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']));
    expect(attrs.some((a) => /^secure$/i.test(a) || /^domain=/i.test(a) || /^expires=/i.test(a))).toBe(false);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).not.toContain(c.value);
  });

  it('trades a code once: the digits burn the link and the link burns the digits', async () => {
    const a = await mintConsoleCode(g);
    expect((await exchange(g, a.code as string)).status).toBe(201);
    const linkAfterDigits = await exchange(g, a.link);
    expect([linkAfterDigits.status, linkAfterDigits.json.code]).toEqual([403, 'pairing_code_invalid']);
    const b = await mintConsoleCode(g);
    expect((await exchange(g, b.link)).status).toBe(201);
    const digitsAfterLink = await exchange(g, b.code as string);
    expect([digitsAfterLink.status, digitsAfterLink.json.code]).toEqual([403, 'pairing_code_invalid']);
    expect((await exchange(g, b.link)).status).toBe(403);
  });

  it('gives two browsers racing with the same code one session', async () => {
    const m = await mintConsoleCode(g);
    const answers = await Promise.all([exchange(g, m.link), exchange(g, m.code as string), exchange(g, m.link), exchange(g, m.code as string)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 403, 403, 403]);
  });

  it.each([
    ['a wrong code', '000000'],
    ['a wrong link code', 'A'.repeat(43)],
    ['a code of the wrong shape', '12345'],
    ['a token-shaped string', `moat_${'a'.repeat(43)}`],
    ['a code with spaces inside', '12 345'],
    ['an empty-looking code', ' '],
  ])('refuses %s with 403 pairing_code_invalid and sets no cookie', async (_name, code) => {
    const res = await exchange(g, code);
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('pairing_code_invalid');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('does not take a token pairing code, and POST /api/v1/pair does not take a console code', async () => {
    const tokenCode = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'] } });
    expect((await exchange(g, tokenCode.json.code)).json.code).toBe('pairing_code_invalid');
    const consoleCode = await mintConsoleCode(g);
    const pair = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': consoleCode.code as string } });
    expect([pair.status, pair.json.code]).toEqual([403, 'pairing_code_invalid']);
    // Neither refusal used the other kind's code up.
    expect((await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': tokenCode.json.code } })).status).toBe(201);
    expect((await exchange(g, consoleCode.code as string)).status).toBe(201);
  });

  it('refuses an expired code like a wrong one', async () => {
    const { startGateway: start } = await import('../helpers/gateway.js');
    let offset = 0;
    const h = await start({}, { now: () => Date.now() + offset });
    try {
      const res = await h.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'], console: true, ttlSeconds: 60 } });
      offset += 61_000;
      const late = await h.fetch('/api/v1/console/session', { method: 'POST', auth: false, body: { code: res.json.code } });
      expect([late.status, late.json.code]).toEqual([403, 'pairing_code_invalid']);
    } finally {
      await h.stop();
    }
  });

  it('keeps only the SHA-256 of the cookie, the scopes, the times and the client address', async () => {
    const s = await signIn(g, ['read', 'tasks']);
    const db = new Database(join(g.dataDir, 'moat.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT * FROM sessions WHERE id = ?').get(s.id) as Record<string, unknown>;
      expect(Object.keys(row).sort()).toEqual(['client', 'created_at', 'expires_at', 'hash', 'id', 'last_used_at', 'name', 'scopes']);
      expect(row['hash']).toBe(createHash('sha256').update(s.value).digest('hex'));
      expect(row['client']).toBe('127.0.0.1');
      expect(JSON.parse(row['scopes'] as string)).toEqual(['read', 'tasks']);
    } finally {
      db.close();
    }
    for (const f of ['moat.db', 'moat.db-wal']) {
      let bytes = '';
      try {
        bytes = readFileSync(join(g.dataDir, f)).toString('latin1');
      } catch {
        continue;
      }
      expect(bytes.includes(s.value), f).toBe(false);
    }
    expect(g.logs.text).not.toContain(s.value);
    expect(readFileSync(join(g.dataDir, 'audit', 'audit.jsonl'), 'utf8')).not.toContain(s.value);
  });
});

describe('the live event of a redeemed code', () => {
  it("tells admin streams (a console's Access view) which code was used, and no one else", async () => {
    const m = await mintConsoleCode(g);
    const adminPage = await signIn(g, ['admin']);
    const readPage = await signIn(g, ['read']);
    const asAdmin = await openSse(g.url, false, { cookie: adminPage.cookie, 'sec-fetch-site': 'same-origin' });
    const asRead = await openSse(g.url, false, { cookie: readPage.cookie, 'sec-fetch-site': 'same-origin' });
    const t = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'ev-tasks', scopes: ['tasks', 'jobs', 'services'] } });
    const asToken = await openSse(g.url, t.json.token);
    await waitFor(() => [asAdmin, asRead, asToken].every((s) => s.comments.includes('connected')), 'streams connected');
    expect((await exchange(g, m.code as string)).status).toBe(201);
    const ev = await asAdmin.until((e) => e.event === 'pairing.redeemed' && e.data.pairingId === m.id, 'pairing.redeemed');
    expect(ev.data).toEqual({ pairingId: m.id, redeemedAs: 'session', at: expect.any(String) });
    // A later event both may see proves the others' streams were open and got nothing about codes.
    await g.fetch('/api/v1/tasks', { method: 'POST', body: { title: 'marker' } });
    await asRead.until((e) => e.event.startsWith('task.'), 'task event on the read stream');
    await asToken.until((e) => e.event.startsWith('task.'), 'task event on the token stream');
    expect([...asRead.events, ...asToken.events].some((e) => e.event.startsWith('pairing.'))).toBe(false);
    for (const s of [asAdmin, asRead, asToken]) s.close();
  });
});

describe('what a session is', () => {
  it('answers GET /api/v1/me with its kind, id, name, scopes and expiry; a token and the admin get theirs', async () => {
    const s = await signIn(g, ['read']);
    const me = await asPage(g, s, '/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ kind: 'session', id: s.id, name: 'console', scopes: ['read'], expiresAt: s.body.expiresAt, idleTimeoutSeconds: 1800 });
    expect((await g.fetch('/api/v1/me')).json).toEqual({
      kind: 'admin',
      id: 'admin',
      name: 'admin',
      scopes: ['admin'],
      expiresAt: null,
      idleTimeoutSeconds: null,
    });
    const t = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'me-svc', scopes: ['svc:echo'], ttlSeconds: 600 } });
    const tokenMe = await g.fetch('/api/v1/me', { auth: t.json.token });
    expect(tokenMe.json).toMatchObject({
      kind: 'token',
      id: t.json.id,
      name: 'me-svc',
      scopes: ['svc:echo'],
      expiresAt: t.json.expiresAt,
      idleTimeoutSeconds: null,
    });
    expect((await g.fetch('/api/v1/me', { auth: false })).status).toBe(401);
  });

  it('acts with the scopes of its code: a read session reads and is refused every action with scope_required', async () => {
    const s = await signIn(g, ['read']);
    expect((await asPage(g, s, '/api/v1/status')).status).toBe(200);
    expect((await asPage(g, s, '/api/v1/jobs')).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/v1/tokens', { name: 'x', scopes: ['read'] }],
      ['POST', '/api/v1/pairing-codes', { scopes: ['read'], console: true }],
      ['POST', '/api/v1/jobs', { service: 'echo', payload: {} }],
      ['DELETE', '/api/v1/sessions/ses_x', undefined],
      ['GET', '/api/v1/tokens', undefined],
      ['GET', '/api/v1/sessions', undefined],
      ['GET', '/api/v1/audit', undefined],
    ] as const) {
      const res = await asPage(g, s, path, { method, body });
      expect([path, res.status, res.json.code]).toEqual([path, 403, 'scope_required']);
      expect(res.json.detail).toMatch(/scope/);
    }
  });

  it('is listed beside tokens for an admin, the caller marked current, never with its cookie', async () => {
    const admin = await signIn(g, ['admin']);
    const other = await signIn(g, ['read']);
    const res = await asPage(g, admin, '/api/v1/sessions');
    expect(res.status).toBe(200);
    const mine = res.json.sessions.find((x: any) => x.id === admin.id);
    expect(mine).toMatchObject({ name: 'console', scopes: ['admin'], client: '127.0.0.1', current: true });
    expect(Object.keys(mine).sort()).toEqual(['client', 'createdAt', 'current', 'expiresAt', 'id', 'idleExpiresAt', 'lastUsedAt', 'name', 'scopes']);
    expect(res.json.sessions.find((x: any) => x.id === other.id)?.current).toBe(false);
    expect(res.text).not.toContain(admin.value);
    expect(res.text).not.toContain(other.value);
  });
});

describe('ending a session', () => {
  it('signs out with DELETE /api/v1/console/session: 204, the cookie cleared, then 401 session_invalid', async () => {
    const s = await signIn(g, ['read']);
    const out = await asPage(g, s, '/api/v1/console/session', { method: 'DELETE' });
    expect(out.status).toBe(204);
    const cleared = cookieOf(out);
    expect(cleared.pair).toBe('moat_session=');
    expect(cleared.setCookie).toMatch(/Max-Age=0/);
    const after = await asPage(g, s, '/api/v1/me');
    expect([after.status, after.json.code]).toEqual([401, 'session_invalid']);
    expect(String(after.headers['set-cookie'])).toMatch(/^moat_session=;.*Max-Age=0/);
    expect((await g.fetch('/api/v1/sessions')).json.sessions.map((x: any) => x.id)).not.toContain(s.id);
    const entry = (await audited('session.signed_out')).find((e) => e.detail?.sessionId === s.id);
    expect(entry).toMatchObject({ outcome: 'ok', actor: { id: s.id, name: 'console' }, client: '127.0.0.1' });
  });

  it('refuses a sign-out made with a token (there is no session to end) with 409 conflict', async () => {
    const res = await g.fetch('/api/v1/console/session', { method: 'DELETE' });
    expect([res.status, res.json.code]).toEqual([409, 'conflict']);
  });

  it('is ended by an admin with DELETE /api/v1/sessions/{id}: 204, then 401; an unknown id is 404', async () => {
    const s = await signIn(g, ['read']);
    expect((await asPage(g, s, '/api/v1/me')).status).toBe(200);
    const del = await g.fetch(`/api/v1/sessions/${s.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await asPage(g, s, '/api/v1/me')).json.code).toBe('session_invalid');
    expect((await g.fetch(`/api/v1/sessions/${s.id}`, { method: 'DELETE' })).status).toBe(404);
    const entry = (await audited('session.revoked')).find((e) => e.detail?.sessionId === s.id);
    expect(entry).toMatchObject({ outcome: 'ok', actor: { id: 'admin', name: 'admin' } });
  });

  it('audits every sign-in with the session, the code and the client, and a wrong code as pairing.failure', async () => {
    const m = await mintConsoleCode(g, ['read']);
    const res = await exchange(g, m.code as string);
    await exchange(g, '999999' === m.code ? '999998' : '999999');
    const created = (await audited('session.created')).find((e) => e.detail?.sessionId === res.json.id);
    expect(created).toMatchObject({ outcome: 'ok', client: '127.0.0.1', detail: { pairingId: m.id, code: 'digits', scopes: ['read'], mintedBy: 'admin' } });
    const redeemed = (await audited('pairing.redeemed')).find((e) => e.detail?.pairingId === m.id);
    expect(redeemed?.detail).toMatchObject({ sessionId: res.json.id });
    expect((await audited('pairing.failure')).some((e) => e.route === '/api/v1/console/session')).toBe(true);
  });
});
