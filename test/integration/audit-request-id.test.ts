/**
 * X-Request-Id from outside: every response carries one, a sane client id is echoed, anything else
 * is replaced, and the same id is in the response, the audit entry and the log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

const GENERATED = /^[0-9a-f]{12}-[0-9a-z]+$/;

describe('X-Request-Id', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => {
    await g.stop();
  });

  async function entries(): Promise<Entry[]> {
    return (await g.fetch('/api/v1/audit?after=0&limit=1000')).json.entries as Entry[];
  }
  const logFor = (id: string) => g.logs.entries().filter((l) => l['reqId'] === id);

  it.each([
    ['a 200', '/api/v1/status', {}],
    ['the health route', '/api/v1/health', { auth: false }],
    ['a 401', '/api/v1/status', { auth: false }],
    ['a 404', '/api/v1/nothing', {}],
  ] as const)('is on every response: %s', async (_name, path, init) => {
    const res = await g.fetch(path, init);
    expect(res.headers['x-request-id']).toMatch(GENERATED);
    if (res.status >= 400) expect(res.json.requestId).toBe(res.headers['x-request-id']);
  });

  it.each(['abc', 'client-1.2_3:4', 'A'.repeat(128), '0123456789abcdef'])('echoes the sane id %s', async (id) => {
    const res = await g.fetch('/api/v1/status', { headers: { 'x-request-id': id } });
    expect(res.headers['x-request-id']).toBe(id);
  });

  it.each([
    ['too long', 'A'.repeat(129)],
    ['a space', 'a b'],
    ['markup', '<script>alert(1)</script>'],
    ['a quote', 'a"b'],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['a comma (two ids)', 'a,b'],
    ['empty', ''],
  ])('replaces an id with %s', async (_name, id) => {
    const res = await g.fetch('/api/v1/status', { auth: false, headers: { 'x-request-id': id } });
    const echoed = res.headers['x-request-id'] as string;
    expect(echoed).toMatch(GENERATED);
    expect(res.json.requestId).toBe(echoed);
    expect(logFor(echoed)).toHaveLength(1);
  });

  it('replaces two X-Request-Id headers with a generated id', async () => {
    const port = g.gw.port;
    const res = await rawRequest(port, `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(401);
    expect(res.headers['x-request-id']).toMatch(GENERATED);
  });

  it.each([
    ['CR LF and a header', 'ok\r\nX-Injected: 1'],
    ['a bare LF', 'ok\nX-Injected: 1'],
    ['a bare CR', 'ok\rX-Injected: 1'],
  ])('never lets %s in an id reach a response or a log line', async (_name, id) => {
    const port = g.gw.port;
    const before = g.logs.lines.length;
    // CR LF ends the header early (X-Injected is then a header of the request); a bare CR or LF is refused by the parser.
    const res = await rawRequest(port, `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
    expect(res.headers['x-injected']).toBeUndefined();
    if (res.headers['x-request-id'] !== undefined) expect(res.headers['x-request-id']).toMatch(/^(ok|[0-9a-f]{12}-[0-9a-z]+)$/);
    expect(g.logs.lines.slice(before).join('\n')).not.toContain('X-Injected');
  });

  it('puts the same client id in the response, the audit entry and the log line of a refusal', async () => {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', auth: `moat_${'z'.repeat(43)}`, body: {}, headers: { 'x-request-id': 'trace-me-42' } });
    expect(res.status).toBe(401);
    expect(res.headers['x-request-id']).toBe('trace-me-42');
    expect(res.json.requestId).toBe('trace-me-42');
    const [line] = logFor('trace-me-42');
    expect(line).toMatchObject({ reqId: 'trace-me-42', code: 'token_invalid', client: '127.0.0.1', route: '/api/v1/tokens' });
    expect((await entries()).filter((e) => e.requestId === 'trace-me-42')).toMatchObject([{ type: 'auth.failure', code: 'token_invalid' }]);
  });

  it('puts the same generated id in the response, the audit entry and the log line', async () => {
    const res = await g.fetch('/api/v1/status', { auth: false });
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(GENERATED);
    expect(logFor(id)).toMatchObject([{ code: 'auth_required' }]);
    expect((await entries()).filter((e) => e.requestId === id)).toMatchObject([{ type: 'auth.failure', code: 'auth_required' }]);
  });

  it('puts the id of a write in its audit entry and its log line', async () => {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'rid', scopes: ['read'] }, headers: { 'x-request-id': 'write-trace-7' } });
    expect(res.headers['x-request-id']).toBe('write-trace-7');
    expect((await entries()).filter((e) => e.requestId === 'write-trace-7')).toMatchObject([{ type: 'http.write', status: 201 }]);
    expect(logFor('write-trace-7')).toMatchObject([{ msg: 'write', method: 'POST', route: '/api/v1/tokens', status: 201, client: '127.0.0.1', actor: 'admin' }]);
  });
});
