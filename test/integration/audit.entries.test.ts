/**
 * What the audit log records, from outside: real gateways on port 0, real requests, and the
 * entries read back through the API or straight from the files after a clean stop.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries, type Entry } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function entries(g: TestGateway, token?: string): Promise<Entry[]> {
  const res = await g.fetch('/api/v1/audit?after=0&limit=1000', token ? { auth: token } : {});
  expect(res.status).toBe(200);
  return res.json.entries as Entry[];
}

function only(list: Entry[], pred: (e: Entry) => boolean): Entry {
  const found = list.filter(pred);
  expect(found, `exactly one matching entry in ${JSON.stringify(list.map((e) => e.type))}`).toHaveLength(1);
  return found[0] as Entry;
}

/** Sends a write's headers and half its body, then hangs up. */
function hangUpMidWrite(port: number, token: string, requestId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(
        `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nX-Request-Id: ${requestId}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
      );
      setTimeout(() => s.destroy(), 100);
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

describe('entries of a running gateway', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => {
    await g.stop();
  });

  it('records a write with method, route pattern, status, actor, scope, client, request id and allowlisted headers', async () => {
    const res = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      body: { name: 'ci-bot', scopes: ['read'] },
      headers: { 'user-agent': 'moat-test/1.0', 'x-request-id': 'write-1', 'x-custom-header': 'not-allowlisted', cookie: 'session=abc' },
    });
    expect(res.status).toBe(201);
    const list = await entries(g);
    const write = only(list, (e) => e.type === 'http.write' && e.clientRequestId === 'write-1');
    expect(write).toMatchObject({
      outcome: 'ok',
      method: 'POST',
      route: '/api/v1/tokens',
      status: 201,
      actor: { id: 'admin', name: 'admin' },
      scope: 'admin',
      client: '127.0.0.1',
    });
    // The request id is the gateway's own (the one on the response); the client's is kept beside it.
    expect(write.requestId).toBe(res.headers['x-request-id']);
    expect(write.requestId).not.toBe('write-1');
    expect(write.headers).toEqual({ 'user-agent': 'moat-test/1.0', 'content-type': 'application/json', 'content-length': expect.any(String) });
    const created = only(list, (e) => e.type === 'token.created' && e.detail?.['tokenId'] === res.json.id);
    expect(created).toMatchObject({ outcome: 'ok', actor: { id: 'admin', name: 'admin' }, detail: { name: 'ci-bot', scopes: ['read'], via: 'api' } });
    // The domain's record comes before the record of the request that caused it.
    expect(created.seq).toBeLessThan(write.seq);
  });

  it('records a refused write with its status and an error outcome', async () => {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 7 }, headers: { 'x-request-id': 'bad-body-1' } });
    expect(res.status).toBe(400);
    const write = only(await entries(g), (e) => e.clientRequestId === 'bad-body-1');
    expect(write).toMatchObject({ type: 'http.write', outcome: 'error', status: 400, route: '/api/v1/tokens', actor: { id: 'admin' } });
  });

  it('records a write to an unknown route as a 404', async () => {
    const res = await g.fetch('/api/v1/nothing-here', { method: 'PUT', body: {}, headers: { 'x-request-id': 'unknown-1' } });
    expect(res.status).toBe(404);
    expect(only(await entries(g), (e) => e.clientRequestId === 'unknown-1')).toMatchObject({
      type: 'http.write',
      outcome: 'error',
      method: 'PUT',
      status: 404,
    });
  });

  it('records a write whose client hung up before the response', async () => {
    await hangUpMidWrite(g.gw.port, g.token, 'hangup-1');
    await expect
      .poll(async () => (await entries(g)).find((e) => e.clientRequestId === 'hangup-1'))
      .toMatchObject({
        type: 'http.write',
        outcome: 'error',
        route: '/api/v1/tokens',
        actor: { id: 'admin' },
        detail: { aborted: expect.any(String) },
      });
  });

  it('records revocation with the route pattern, not the raw path', async () => {
    const created = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'to-revoke', scopes: ['read'] } });
    const res = await g.fetch(`/api/v1/tokens/${created.json.id}`, { method: 'DELETE', headers: { 'x-request-id': 'revoke-1' } });
    expect(res.status).toBe(200);
    const list = await entries(g);
    expect(only(list, (e) => e.clientRequestId === 'revoke-1')).toMatchObject({
      type: 'http.write',
      method: 'DELETE',
      route: '/api/v1/tokens/:id',
      status: 200,
    });
    expect(only(list, (e) => e.type === 'token.revoked')).toMatchObject({
      outcome: 'ok',
      actor: { id: 'admin' },
      detail: { tokenId: created.json.id, name: 'to-revoke' },
    });
  });

  it('records authentication failures: no token and a wrong token', async () => {
    expect((await g.fetch('/api/v1/status', { auth: false, headers: { 'x-request-id': 'noauth-1' } })).status).toBe(401);
    expect((await g.fetch('/api/v1/status', { auth: `moat_${'x'.repeat(43)}`, headers: { 'x-request-id': 'badauth-1' } })).status).toBe(401);
    const list = await entries(g);
    expect(only(list, (e) => e.clientRequestId === 'noauth-1')).toMatchObject({
      type: 'auth.failure',
      outcome: 'denied',
      code: 'auth_required',
      status: 401,
      method: 'GET',
      route: '/api/v1/status',
      client: '127.0.0.1',
    });
    const wrong = only(list, (e) => e.clientRequestId === 'badauth-1');
    expect(wrong).toMatchObject({ type: 'auth.failure', outcome: 'denied', code: 'token_invalid', status: 401 });
    expect(wrong.actor).toBeUndefined();
  });

  it('records a token without the route scope as a denial naming the token', async () => {
    const created = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'reader', scopes: ['read'] } });
    const res = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      auth: created.json.token,
      body: { name: 'x', scopes: ['read'] },
      headers: { 'x-request-id': 'scope-1' },
    });
    expect(res.status).toBe(403);
    expect(only(await entries(g), (e) => e.clientRequestId === 'scope-1')).toMatchObject({
      type: 'authz.denied',
      code: 'scope_required',
      actor: { id: created.json.id, name: 'reader' },
    });
  });

  it('records pairing: the code minted, redeemed, and a wrong code', async () => {
    const minted = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'], name: 'phone' } });
    expect(minted.status).toBe(201);
    const paired = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': minted.json.code, 'x-request-id': 'pair-ok' } });
    expect(paired.status).toBe(201);
    const wrongCode = minted.json.code === '918273' ? '918274' : '918273';
    const refused = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': wrongCode, 'x-request-id': 'pair-bad' } });
    expect(refused.status).toBe(403);
    const list = await entries(g);
    expect(only(list, (e) => e.type === 'pairing.minted')).toMatchObject({ actor: { id: 'admin' }, detail: { pairingId: minted.json.id, scopes: ['read'] } });
    expect(only(list, (e) => e.type === 'pairing.redeemed')).toMatchObject({
      outcome: 'ok',
      client: '127.0.0.1',
      detail: { pairingId: minted.json.id, tokenId: paired.json.id },
    });
    expect(only(list, (e) => e.type === 'token.created' && e.detail?.['via'] === 'pairing')).toMatchObject({
      detail: { tokenId: paired.json.id, name: 'phone' },
    });
    expect(only(list, (e) => e.clientRequestId === 'pair-ok')).toMatchObject({ type: 'http.write', route: '/api/v1/pair', status: 201, outcome: 'ok' });
    expect(only(list, (e) => e.clientRequestId === 'pair-bad')).toMatchObject({
      type: 'pairing.failure',
      outcome: 'denied',
      code: 'pairing_code_invalid',
      status: 403,
      route: '/api/v1/pair',
    });
  });

  it('records a refused Host (421) and a refused Origin (403)', async () => {
    const port = g.gw.port;
    const host = await rawRequest(port, 'GET /api/v1/status HTTP/1.1\r\nHost: rebind.evil.example\r\nX-Request-Id: host-1\r\nConnection: close\r\n\r\n');
    expect(host.status).toBe(421);
    const origin = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      body: { name: 'o', scopes: ['read'] },
      headers: { origin: 'https://evil.example', 'x-request-id': 'origin-1' },
    });
    expect(origin.status).toBe(403);
    const list = await entries(g);
    expect(only(list, (e) => e.clientRequestId === 'host-1')).toMatchObject({
      type: 'guard.host',
      outcome: 'denied',
      code: 'host_not_allowed',
      status: 421,
      client: '127.0.0.1',
    });
    expect(only(list, (e) => e.clientRequestId === 'origin-1')).toMatchObject({
      type: 'guard.origin',
      outcome: 'denied',
      code: 'origin_not_allowed',
      status: 403,
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
  });

  it('records the rotation of the admin token', async () => {
    const res = await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST', headers: { 'x-request-id': 'rotate-1' } });
    expect(res.status).toBe(200);
    const fresh = readFileSync(join(g.dataDir, 'gateway-token'), 'utf8').trim();
    const list = await entries(g, fresh);
    expect(only(list, (e) => e.type === 'token.rotated')).toMatchObject({ outcome: 'ok', actor: { id: 'admin' }, detail: { tokenId: 'admin' } });
    expect(only(list, (e) => e.clientRequestId === 'rotate-1')).toMatchObject({ type: 'http.write', route: '/api/v1/tokens/rotate-admin', status: 200 });
  });
});

describe('lockout and rate limits', () => {
  it('records the first failure at once and counts the other four into one entry, the lockout on the fifth, and the refusal while locked out', async () => {
    const g = await startGateway();
    const wrong = `moat_${'y'.repeat(43)}`;
    for (let i = 1; i <= 5; i++) expect((await g.fetch('/api/v1/status', { auth: wrong, headers: { 'x-request-id': `fail-${i}` } })).status).toBe(401);
    // Locked out: even the right token is refused without being looked at.
    const locked = await g.fetch('/api/v1/status', { headers: { 'x-request-id': 'locked-1' } });
    expect(locked.status).toBe(429);
    await g.stop();
    const list = readEntries(g.dataDir);
    const failures = list.filter((e) => e.type === 'auth.failure');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ clientRequestId: 'fail-1', code: 'token_invalid', client: '127.0.0.1' });
    expect(failures[1]).toMatchObject({
      code: 'token_invalid',
      client: '127.0.0.1',
      detail: { count: 4, aggregated: true, lastRequestId: expect.any(String), routes: ['/api/v1/status'] },
    });
    const lockout = only(list, (e) => e.type === 'auth.lockout');
    expect(lockout).toMatchObject({ outcome: 'denied', clientRequestId: 'fail-5', client: '127.0.0.1', detail: { lockedForMs: expect.any(Number) } });
    expect(lockout.detail?.['lockedForMs']).toBeGreaterThan(0);
    expect(only(list, (e) => e.clientRequestId === 'locked-1')).toMatchObject({ type: 'auth.locked_out', code: 'locked_out', status: 429 });
  });

  it('records a rate-limit refusal', async () => {
    const g = await startGateway({ rateLimit: { general: { perMinute: 3 } } });
    for (let i = 1; i <= 3; i++) expect((await g.fetch('/api/v1/status')).status).toBe(200);
    expect((await g.fetch('/api/v1/status', { headers: { 'x-request-id': 'limited-1' } })).status).toBe(429);
    await g.stop();
    const refused = only(readEntries(g.dataDir), (e) => e.clientRequestId === 'limited-1');
    expect(refused).toMatchObject({
      type: 'ratelimit.refused',
      outcome: 'denied',
      code: 'rate_limited',
      status: 429,
      client: '127.0.0.1',
      route: '/api/v1/status',
    });
    // Refused before authentication: nobody is named.
    expect(refused.actor).toBeUndefined();
  });
});

describe('boot and shutdown', () => {
  it('records boot and shutdown with version, bind, TLS and auth; shutdown is the last entry', async () => {
    const g = await startGateway({ tls: { enabled: true } });
    const port = g.gw.port;
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'late', scopes: ['read'] } })).status).toBe(201);
    await g.stop();
    const list = readEntries(g.dataDir);
    const posture = { version: VERSION, bind: `127.0.0.1:${port}`, bindClass: 'loopback', tls: true, auth: true, pid: process.pid };
    expect(list[0]).toMatchObject({ seq: 1, type: 'gateway.boot', outcome: 'ok', detail: posture });
    expect(list[list.length - 1]).toMatchObject({ type: 'gateway.shutdown', outcome: 'ok', detail: { ...posture, reason: 'stop', drained: true } });
    expect(list[list.length - 2]).toMatchObject({ type: 'http.write', status: 201 });
  });

  it('continues the sequence across a restart of the same data dir, with auth off on loopback recorded', async () => {
    const first = await startGateway();
    await first.stop();
    const before = readEntries(first.dataDir);
    const second = await startGateway({ dataDir: first.dataDir, auth: { enabled: false } });
    await second.stop();
    const after = readEntries(first.dataDir).slice(before.length);
    expect(after[0]).toMatchObject({ seq: before.length + 1, type: 'gateway.boot', detail: { auth: false, warnings: [expect.stringMatching(/auth is off/)] } });
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => before.length + 1 + i));
  });
});
