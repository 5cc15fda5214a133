/**
 * Limits from outside: rate-limit classes at their edge (before authentication), body size with and
 * without Content-Length, the in-flight cap under parallel requests, a slow-header client cut off,
 * and requests Node's parser refuses answered with a problem document like every other refusal.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { gateways, startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest, type RawResponse } from '../helpers/raw.js';
import { waitFor } from '../helpers/services.js';

let clock = 0;
const start = gateways('each');
function boot(values: Record<string, unknown> = {}) {
  clock = Date.parse('2026-11-23T12:00:10Z');
  return start({ lockout: { after: 1000 }, ...values }, { now: () => clock });
}

/** A refusal written on the raw socket: a problem document with the headers of every response. */
function expectRawProblem(res: RawResponse, status: number, code: string): string {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body);
  expect(body).toMatchObject({
    type: `urn:moat:problem:${code}`,
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
    requestId: expect.any(String),
  });
  expect(res.headers['x-request-id']).toBe(body.requestId);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['connection']).toBe('close');
  // Never the parser's own words, a stack or a path.
  expect(res.body).not.toMatch(/HPE_|Parse Error|at \w+ \(|node_modules|\.ts:\d+|stack/i);
  return body.requestId as string;
}

/** The warning the refusal left in the log, found by its request id. */
function refusalLine(g: TestGateway, id: string) {
  return g.logs.entries().find((e) => e['reqId'] === id);
}

describe('rate limits', () => {
  it('general class: 600 requests a minute pass, the 601st gets 429 with Retry-After and RateLimit headers', async () => {
    const g = await boot();
    for (let i = 0; i < 600; i++) {
      const res = await g.fetch('/api/v1/status');
      if (res.status !== 200) throw new Error(`request ${i + 1} got ${res.status}`);
    }
    const refused = await g.fetch('/api/v1/status');
    expect(refused.status).toBe(429);
    expect(refused.json.code).toBe('rate_limited');
    expect(refused.headers['ratelimit-limit']).toBe('600');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-reset']).toBe(refused.headers['retry-after']);
    // The window slides: a minute later the client may come back.
    clock += 120_000;
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
  });

  it('throttles unauthenticated floods and unknown paths too (limit before authentication)', async () => {
    const g = await boot({ rateLimit: { general: { perMinute: 20 } } });
    for (let i = 0; i < 20; i++) expect((await g.fetch(`/nope-${i}`, { auth: 'moat_wrong' })).status).toBe(401);
    expect((await g.fetch('/api/v1/status', { auth: false })).status).toBe(429);
    expect((await g.fetch('/anything')).status).toBe(429);
  });

  it('pair class: 10 pairing attempts a minute, the 11th gets 429', async () => {
    const g = await boot();
    for (let i = 0; i < 10; i++) {
      expect((await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': '000000' } })).status).toBe(403);
    }
    const refused = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': '000000' } });
    expect(refused.status).toBe(429);
    expect(refused.json.code).toBe('rate_limited');
    expect(refused.headers['ratelimit-limit']).toBe('10');
    // Another class is counted separately.
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
  });

  it('takes per-class limits from the environment', async () => {
    clock = Date.parse('2026-11-23T12:00:10Z');
    const g = await start({}, { now: () => clock, env: { MOAT_RATE_LIMIT_PAIR: '2', MOAT_RATE_LIMIT_GENERAL: '3' } });
    for (let i = 0; i < 3; i++) expect((await g.fetch('/api/v1/status')).status).toBe(200);
    expect((await g.fetch('/api/v1/status')).status).toBe(429);
  });

  it('counts each client separately', async () => {
    const g = await boot({ rateLimit: { general: { perMinute: 5 } }, trustedProxies: ['127.0.0.1'] });
    for (let i = 0; i < 5; i++) await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.1' } });
    expect((await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status).toBe(429);
    expect((await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.2' } })).status).toBe(200);
  });

  it('refuses a limit of 0 at boot with a hint', async () => {
    await expect(startGateway({ rateLimit: { general: { perMinute: 0 } } })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});

describe('body size', () => {
  const big = JSON.stringify({ name: 'x', scopes: ['read'], pad: 'y'.repeat(300 * 1024) });

  it('refuses an oversized body from its Content-Length, before reading it', async () => {
    const g = await boot();
    const port = g.gw.port;
    // Only the headers are sent: the answer must come without the body.
    const res = await rawRequest(
      port,
      `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe('body_too_large');
  });

  it('cuts off an oversized chunked body while it streams', async () => {
    const g = await boot();
    const port = g.gw.port;
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    let text = `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    for (let i = 0; i < 40; i++) text += chunk('x'.repeat(10 * 1024));
    const res = await rawRequest(port, text);
    expect(res.status).toBe(413);
  });

  it('takes the limit from MOAT_MAX_BODY_BYTES', async () => {
    clock = Date.parse('2026-11-23T12:00:10Z');
    const g = await start({ lockout: { after: 1000 } }, { now: () => clock, env: { MOAT_MAX_BODY_BYTES: '2048' } });
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'x', scopes: ['read'], pad: 'z'.repeat(3000) } });
    expect(res.status).toBe(413);
  });
});

describe('in-flight cap', () => {
  it('answers 503 overloaded with Retry-After when more requests are in flight than allowed', async () => {
    const g = await boot({ limits: { maxInflight: 4 } });
    const port = g.gw.port;
    const stuck: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.write(
        `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      );
      stuck.push(s);
    }
    // Refused once the four stuck uploads are admitted (they hold every slot).
    const refused = await waitFor(async () => {
      const res = await g.fetch('/api/v1/status');
      return res.status === 503 ? res : null;
    }, 'the four stuck uploads to hold every slot');
    expect(refused.json.code).toBe('overloaded');
    expect(refused.headers['retry-after']).toBeTruthy();
    for (const s of stuck) s.destroy();
    // Their slots come back as the connections close.
    await waitFor(async () => (await g.fetch('/api/v1/status')).status === 200, 'the slots of the closed uploads to be released');
  });
});

describe('slow clients', () => {
  it('cuts off a client that sends its headers too slowly (slowloris) and keeps serving others', async () => {
    const g = await boot({ limits: { headersTimeoutMs: 500 } });
    const port = g.gw.port;
    const s = net.connect(port, '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('close', () => resolve(data));
    });
    s.write('GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => {
      if (!s.destroyed) s.write('X-Slow: a\r\n');
    }, 100);
    const data = await closed;
    clearInterval(drip);
    expect(data).toMatch(/^HTTP\/1\.1 408 /);
    expect(data).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect((await g.fetch('/api/v1/health', { auth: false })).status).toBe(200);
  });

  it('cuts off a slow-header client over TLS too', async () => {
    const g = await boot({ tls: { enabled: true }, limits: { headersTimeoutMs: 500 } });
    const tls = await import('node:tls');
    const s = tls.connect({ host: '127.0.0.1', port: g.gw.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    let data = '';
    s.on('data', (d) => (data += d));
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.on('error', () => undefined);
    s.on('secureConnect', () => s.write('GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
    const drip = setInterval(() => {
      if (!s.destroyed) s.write('X-Slow: a\r\n');
    }, 100);
    await closed;
    clearInterval(drip);
    expect(data).toMatch(/^HTTP\/1\.1 408 /);
    expect(data).toMatch(/"code":"request_timeout"/);
  });
});

describe('requests the HTTP parser refuses', () => {
  it('refuses headers over the size cap with 431 headers_too_large, logged and audited', async () => {
    const g = await boot();
    const port = g.gw.port;
    const res = await rawRequest(port, `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    const id = expectRawProblem(res, 431, 'headers_too_large');
    expect(refusalLine(g, id)).toMatchObject({
      level: 40,
      client: '127.0.0.1',
      code: 'headers_too_large',
      msg: expect.stringMatching(/^refused: .*maxHeaderBytes/),
    });
    const audit = await g.fetch('/api/v1/audit?after=0&limit=1000');
    expect(audit.json.entries.find((e: { requestId?: string }) => e.requestId === id)).toMatchObject({
      type: 'limit.headers',
      outcome: 'denied',
      code: 'headers_too_large',
      status: 431,
      client: '127.0.0.1',
    });
  });

  it('answers duplicate, conflicting Content-Length headers with 400 bad_request (request smuggling)', async () => {
    const g = await boot();
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}`,
    );
    const id = expectRawProblem(res, 400, 'bad_request');
    expect(JSON.parse(res.body).detail).toMatch(/Content-Length/);
    expect(refusalLine(g, id)).toMatchObject({ level: 40, client: '127.0.0.1', code: 'bad_request' });
  });

  it('answers a malformed request line with 400 bad_request', async () => {
    const g = await boot();
    const id = expectRawProblem(await rawRequest(g.gw.port, 'HELLO WORLD\r\n\r\n'), 400, 'bad_request');
    expect(JSON.parse((await rawRequest(g.gw.port, 'GET /api/v1/health HTTP/7.0\r\n\r\n')).body).code).toBe('bad_request');
    expect(refusalLine(g, id)).toMatchObject({
      level: 40,
      client: '127.0.0.1',
      code: 'bad_request',
      msg: 'refused: the request is not valid HTTP/1.1: malformed request line',
    });
  });

  it('answers a malformed chunked body with 400 bad_request, and the gateway keeps serving', async () => {
    const g = await boot();
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    );
    expectRawProblem(res, 400, 'bad_request');
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
  });

  it('answers headers that do not arrive within limits.headersTimeoutMs with 408 request_timeout', async () => {
    const g = await boot({ limits: { headersTimeoutMs: 300 } });
    const port = g.gw.port;
    const res = await rawRequest(port, `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const id = expectRawProblem(res, 408, 'request_timeout');
    expect(refusalLine(g, id)).toMatchObject({ level: 40, client: '127.0.0.1', code: 'request_timeout' });
  });

  it('closes a connection that sends nothing with 408, without a warning', async () => {
    const g = await boot({ limits: { headersTimeoutMs: 300 } });
    const res = await rawRequest(g.gw.port, '');
    const id = expectRawProblem(res, 408, 'request_timeout');
    expect(g.logs.entries().filter((e) => e['reqId'] === id && (e['level'] as number) >= 40)).toEqual([]);
  });

  it('applies limits.maxHeaderBytes to HTTP/1.1 over TLS too', async () => {
    const g = await boot({ tls: { enabled: true }, limits: { maxHeaderBytes: 4096 } });
    const tls = await import('node:tls');
    const text = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: g.gw.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        s.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
      });
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('close', () => resolve(data));
      s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(data) : reject(err)));
    });
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(text).toMatch(/\r\nstrict-transport-security: max-age=/i);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'headers_too_large', status: 431 });
  });
});
