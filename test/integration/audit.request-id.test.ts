/**
 * X-Request-Id from outside: every response carries the gateway's own id, never the client's (a
 * client could otherwise give its request the id of another request, or put its own text in the
 * logs); a sane client id (at most 128 of A-Z a-z 0-9 . _ : -) is kept beside it as
 * clientRequestId in the audit entry and the log line, anything else is dropped. The same gateway
 * id is in the response, the audit entry and the log line. Audited requests here are writes (a bad
 * body: one entry each) or refusals from a loopback address of their own (repeated refusals of one
 * client are counted into one entry, test/integration/audit.refusals.test.ts).
 */
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../helpers/audit.js';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
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
  /** A write that passes the guards and fails validation: one http.write entry of its own. */
  const badWrite = (id: string) => g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 5 }, headers: { 'x-request-id': id } });
  let nextAddress = 10;
  /** A request from a loopback address no other test uses (its refusal is the first of its window). */
  async function fromNewAddress(path: string, init: Parameters<typeof send>[4]) {
    const agent = new Agent({ localAddress: `127.0.0.${nextAddress++}` });
    try {
      return await send(agent, g.url, g.token, path, init);
    } finally {
      await agent.close();
    }
  }

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

  it.each(['abc', 'client-1.2_3:4', 'A'.repeat(128), '0123456789abcdef'])(
    'never answers with the client id %s, and keeps it as clientRequestId',
    async (id) => {
      const res = await badWrite(id);
      expect(res.status).toBe(400);
      const own = res.headers['x-request-id'] as string;
      expect(own).toMatch(GENERATED);
      expect(res.json.requestId).toBe(own);
      expect(logFor(own)).toMatchObject([{ reqId: own, clientRequestId: id, msg: 'write' }]);
      expect((await entries()).filter((e) => e.requestId === own)).toMatchObject([{ type: 'http.write', status: 400, clientRequestId: id }]);
    },
  );

  it.each([
    ['too long', 'A'.repeat(129)],
    ['very long', 'B'.repeat(4000)],
    ['a space', 'a b'],
    ['markup', '<script>alert(1)</script>'],
    ['a quote', 'a"b'],
    ['a tab', 'a\tb'],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['a comma (two ids)', 'a,b'],
    ['JSON', '{"seq":1,"type":"token.created"}'],
    ['empty', ''],
  ])('keeps no client id with %s, in the audit or the log', async (_name, id) => {
    const res = await badWrite(id);
    expect(res.status).toBe(400);
    const own = res.headers['x-request-id'] as string;
    expect(own).toMatch(GENERATED);
    expect(res.json.requestId).toBe(own);
    const lines = logFor(own);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toHaveProperty('clientRequestId');
    const found = (await entries()).filter((e) => e.requestId === own);
    expect(found).toMatchObject([{ type: 'http.write', status: 400 }]);
    expect(found[0]).not.toHaveProperty('clientRequestId');
    expect(found[0]?.headers ?? {}).not.toHaveProperty('x-request-id');
  });

  it('answers two X-Request-Id headers with its own id and keeps neither', async () => {
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(401);
    const own = res.headers['x-request-id'] as string;
    expect(own).toMatch(GENERATED);
    expect(logFor(own)[0]).not.toHaveProperty('clientRequestId');
  });

  it.each([
    ['CR LF and a header', 'ok\r\nX-Injected: 1'],
    ['a bare LF', 'ok\nX-Injected: 1'],
    ['a bare CR', 'ok\rX-Injected: 1'],
    ['a control character', 'ok\x01X-Injected: 1'],
  ])('never lets %s in an id reach a response or a log line', async (_name, id) => {
    const port = g.gw.port;
    const before = g.logs.lines.length;
    // CR LF ends the header early (X-Injected is then a header of the request); the others are refused by the parser.
    const res = await rawRequest(port, `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
    expect(res.headers['x-injected']).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(GENERATED);
    expect(g.logs.lines.slice(before).join('\n')).not.toContain('X-Injected');
  });

  it("gives a request whose client id is another request's id its own id, so the two entries stay apart", async () => {
    const first = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'victim', scopes: ['read'] } });
    const victimId = first.headers['x-request-id'] as string;
    const copy = await fromNewAddress('/api/v1/tokens', { method: 'POST', auth: `moat_${'q'.repeat(43)}`, body: {}, headers: { 'x-request-id': victimId } });
    expect(copy.status).toBe(401);
    const copyId = copy.headers['x-request-id'] as string;
    expect(copyId).toMatch(GENERATED);
    expect(copyId).not.toBe(victimId);
    const list = await entries();
    expect(list.filter((e) => e.requestId === victimId)).toMatchObject([{ type: 'http.write', status: 201 }]);
    expect(list.filter((e) => e.requestId === copyId)).toMatchObject([{ type: 'auth.failure', clientRequestId: victimId }]);
    expect(logFor(victimId)).toMatchObject([{ msg: 'write', status: 201 }]);
  });

  it('puts the same gateway id in the response, the audit entry and the log line of a refusal, the client id beside it', async () => {
    const res = await fromNewAddress('/api/v1/tokens', {
      method: 'POST',
      auth: `moat_${'z'.repeat(43)}`,
      body: {},
      headers: { 'x-request-id': 'trace-me-42' },
    });
    expect(res.status).toBe(401);
    const own = res.headers['x-request-id'] as string;
    expect(own).toMatch(GENERATED);
    expect(res.json.requestId).toBe(own);
    expect(logFor(own)).toMatchObject([{ reqId: own, clientRequestId: 'trace-me-42', code: 'token_invalid', route: '/api/v1/tokens' }]);
    expect((await entries()).filter((e) => e.requestId === own)).toMatchObject([
      { type: 'auth.failure', code: 'token_invalid', clientRequestId: 'trace-me-42' },
    ]);
  });

  it('puts the same generated id in the response, the audit entry and the log line', async () => {
    const res = await fromNewAddress('/api/v1/status', { auth: false });
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(GENERATED);
    expect(logFor(id)).toMatchObject([{ code: 'auth_required' }]);
    expect((await entries()).filter((e) => e.requestId === id)).toMatchObject([{ type: 'auth.failure', code: 'auth_required' }]);
  });

  it('puts the id of a write in its audit entry and its log line, the client id beside it', async () => {
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'rid', scopes: ['read'] }, headers: { 'x-request-id': 'write-trace-7' } });
    const own = res.headers['x-request-id'] as string;
    expect(own).toMatch(GENERATED);
    expect((await entries()).filter((e) => e.requestId === own)).toMatchObject([{ type: 'http.write', status: 201, clientRequestId: 'write-trace-7' }]);
    expect(logFor(own)).toMatchObject([
      { msg: 'write', method: 'POST', route: '/api/v1/tokens', status: 201, client: '127.0.0.1', actor: 'admin', clientRequestId: 'write-trace-7' },
    ]);
  });
});
