/** Bad input gets an RFC 9457 problem with a stable code and no internals; security headers everywhere. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway({ tls: { enabled: true } });
});
afterAll(() => g.stop());

function expectProblem(res: { status: number; headers: Record<string, unknown>; json: any; text: string }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.json).toMatchObject({
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
    requestId: expect.any(String),
    type: `urn:moat:problem:${code}`,
  });
  expect(res.json.requestId).toBe(res.headers['x-request-id']);
  expect(res.text).not.toMatch(/at \w+ \(|node_modules|\/src\/|\.ts:\d+|stack/i);
}

describe('problem responses', () => {
  it('malformed JSON -> 400 json_invalid', async () => {
    expectProblem(
      await g.fetch('/api/v1/tokens', { method: 'POST', raw: '{"name": "x", ', headers: { 'content-type': 'application/json' } }),
      400,
      'json_invalid',
    );
  });
  it('prototype pollution in JSON -> 400 json_invalid', async () => {
    expectProblem(
      await g.fetch('/api/v1/tokens', { method: 'POST', raw: '{"__proto__": {"admin": true}}', headers: { 'content-type': 'application/json' } }),
      400,
      'json_invalid',
    );
  });
  it.each([
    ['application/x-www-form-urlencoded', 'name=x'],
    ['application/xml', '<token><name>x</name></token>'],
    ['text/plain', '{"name":"x","scopes":["read"]}'],
    ['text/plain; charset=utf-8', 'name x'],
  ])('a wrong content type (%s) -> 415 unsupported_media_type', async (type, raw) => {
    expectProblem(await g.fetch('/api/v1/tokens', { method: 'POST', raw, headers: { 'content-type': type } }), 415, 'unsupported_media_type');
  });
  it('a body that breaks the schema -> 400 validation_failed naming the field', async () => {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'x', scopes: 'admin' } });
    expectProblem(res, 400, 'validation_failed');
    expect(res.json.detail).toMatch(/scopes/);
    expect(res.json.errors[0].path).toMatch(/scopes/);
  });
  it('an unknown field -> 400 validation_failed (never silently dropped)', async () => {
    expectProblem(await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'x', scopes: ['read'], admin: true } }), 400, 'validation_failed');
  });
  it('an unknown route -> 404 not_found (after authentication)', async () => {
    expectProblem(await g.fetch('/api/v1/nope'), 404, 'not_found');
    expectProblem(await g.fetch('/nope', { method: 'DELETE' }), 404, 'not_found');
  });
  it('a malformed URL -> 400 bad_request', async () => {
    const res = await rawRequest(0, '', '127.0.0.1').catch(() => null);
    void res;
    const port = g.gw.port;
    const { default: tls } = await import('node:tls');
    const text = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        s.write(`GET /api/v1/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nConnection: close\r\n\r\n`);
      });
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('end', () => resolve(data));
      s.on('error', reject);
    });
    expect(text).toMatch(/^HTTP\/1\.1 (400|404)/);
    expect(text).toMatch(/application\/problem\+json/);
  });
});

describe('security headers', () => {
  it.each([
    ['a success', '/api/v1/status', true],
    ['a refusal', '/api/v1/status', false],
    ['health', '/api/v1/health', false],
  ])('are on %s', async (_name, path, auth) => {
    const res = await g.fetch(path, { auth: auth as boolean });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(String(res.headers['strict-transport-security'])).toMatch(/max-age=/);
    expect(res.headers['x-request-id']).toBeTruthy();
  });
});

describe('X-Request-Id', () => {
  it('answers with its own id, never the client id (test/integration/audit.request-id.test.ts)', async () => {
    const res = await g.fetch('/api/v1/status', { headers: { 'x-request-id': 'abc-123.def_456' } });
    expect(res.headers['x-request-id']).not.toBe('abc-123.def_456');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
  });
  it.each([['x'.repeat(200)], ['has space'], ['semi;colon'], ['<script>']])('replaces the insane id %s', async (id) => {
    const res = await g.fetch('/api/v1/status', { headers: { 'x-request-id': id } });
    expect(res.headers['x-request-id']).not.toBe(id);
    expect(String(res.headers['x-request-id'])).toMatch(/^[A-Za-z0-9._:-]+$/);
  });
  it('generates distinct ids', async () => {
    const a = await g.fetch('/api/v1/status');
    const b = await g.fetch('/api/v1/status');
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });
});
