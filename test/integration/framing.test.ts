/**
 * Request smuggling through Transfer-Encoding, from outside: raw HTTP/1.1 requests (plain and over
 * TLS) whose Transfer-Encoding is anything but `chunked` alone. Each is refused before any handler
 * runs (the token it asks for is never made), answered once, and its connection closed, so the body
 * (here, a second request) is never read as a request of its own.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway;
let t: TestGateway;
beforeAll(async () => {
  [g, t] = await Promise.all([startGateway(), startGateway({ tls: { enabled: true } })]);
});
afterAll(async () => {
  await Promise.all([g.stop(), t.stop()]);
});

interface Exchange {
  status: number;
  head: string;
  body: string;
  /** How many responses came back on the connection before it closed. */
  responses: number;
}

/** Sends `text`, reads until the server closes the connection (bounded), and parses the first response. */
function exchange(gw: TestGateway, text: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const port = gw.gw.port;
    const socket: net.Socket = gw.gw.tlsFingerprint
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => socket.write(text))
      : net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection stayed open: ${JSON.stringify(data.slice(0, 300))}`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no response: ${JSON.stringify(data)}`));
      resolve({
        status: Number(data.split(' ')[1]),
        head: data.slice(0, end),
        body: data.slice(end + 4),
        responses: data.match(/^HTTP\/1\.[01] \d{3} /gm)?.length ?? 0,
      });
    });
  });
}

/** POST /api/v1/tokens with a chunked body asking for a token named `name`, and a smuggled GET after it. */
function tokenRequest(gw: TestGateway, te: string[], name: string, version = '1.1', smuggle = true): string {
  const json = JSON.stringify({ name, scopes: ['read'] });
  const smuggled = smuggle ? `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${gw.gw.port}\r\n\r\n` : '';
  return (
    `POST /api/v1/tokens HTTP/${version}\r\nHost: 127.0.0.1:${gw.gw.port}\r\nAuthorization: Bearer ${gw.token}\r\nContent-Type: application/json\r\n` +
    `X-Request-Id: ${name}\r\n${te.map((v) => `Transfer-Encoding: ${v}\r\n`).join('')}Connection: keep-alive\r\n\r\n` +
    `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n${smuggled}`
  );
}

async function tokenNames(gw: TestGateway): Promise<string[]> {
  const res = await gw.fetch('/api/v1/tokens');
  return (res.json.tokens as Array<{ name: string }>).map((x) => x.name);
}

// [name, Transfer-Encoding lines, status, code]
const hostile: Array<[string, string[], number, string]> = [
  ['identity before chunked', ['identity, chunked'], 501, 'transfer_coding_unsupported'],
  ['gzip before chunked', ['gzip, chunked'], 501, 'transfer_coding_unsupported'],
  ['an unknown coding before chunked', ['x-custom, chunked'], 501, 'transfer_coding_unsupported'],
  ['compress and deflate before chunked', ['compress, deflate, chunked'], 501, 'transfer_coding_unsupported'],
  ['identity and chunked on two lines', ['identity', 'chunked'], 501, 'transfer_coding_unsupported'],
  ['gzip and chunked on two lines, odd case', ['GZip', 'Chunked'], 501, 'transfer_coding_unsupported'],
  ['an empty element before chunked', [', chunked'], 400, 'transfer_encoding_invalid'],
  ['two empty elements before chunked', [' , ,chunked'], 400, 'transfer_encoding_invalid'],
  // Node's parser refuses these itself (bad_request) before the guard sees them.
  ['chunked twice on one line', ['chunked, chunked'], 400, 'bad_request'],
  ['chunked twice on two lines', ['chunked', 'chunked'], 400, 'bad_request'],
  ['chunked then gzip', ['chunked, gzip'], 400, 'bad_request'],
  ['gzip alone', ['gzip'], 400, 'transfer_encoding_invalid'],
  ['chunked with a parameter', ['chunked;q=1'], 400, 'transfer_encoding_invalid'],
  ['gzip with a parameter before chunked', ['gzip;level=9, chunked'], 400, 'transfer_encoding_invalid'],
  ['a quoted coding before chunked', ['"gzip", chunked'], 400, 'transfer_encoding_invalid'],
  ['a Kelvin sign spelling chunKed', ['chun\u212Aed'], 400, 'transfer_encoding_invalid'],
  ['chunked followed by a tab', ['chunked\t'], 400, 'bad_request'],
  ['a trailing comma', ['chunked,'], 400, 'bad_request'],
  ['an empty Transfer-Encoding', [''], 400, 'transfer_encoding_invalid'],
];

describe.each([
  ['plain HTTP/1.1', () => g],
  ['HTTP/1.1 over TLS', () => t],
])('Transfer-Encoding over %s', (_listener, gateway) => {
  it.each(hostile)('refuses %s (%j) with %i %s before any handler, and closes the connection', async (name, te, status, code) => {
    const gw = gateway();
    const token = `te-${name.replace(/[^a-z0-9]+/gi, '-')}`.slice(0, 60);
    const res = await exchange(gw, tokenRequest(gw, te, token));
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body.slice(0, res.body.indexOf('}') + 1))).toMatchObject({ code, status });
    expect(res.head).toMatch(/\r\nconnection: close/i);
    // One answer: the smuggled GET after the body was never read as a request.
    expect(res.responses).toBe(1);
    expect(await tokenNames(gw)).not.toContain(token);
  });

  it.each([
    ['chunked', ['chunked']],
    ['Chunked', ['Chunked']],
    ['CHUNKED', ['CHUNKED']],
    ['chunked with blanks around it', ['  chunked  ']],
    ['chunked after a tab', ['\tchunked']],
  ])('accepts %s (%j) and creates the token', async (name, te) => {
    const gw = gateway();
    const token = `ok-${name.replace(/[^a-z0-9]+/gi, '-')}`;
    const res = await exchange(gw, tokenRequest(gw, te, token, '1.1', false).replace('Connection: keep-alive', 'Connection: close'));
    expect(res.status, res.body).toBe(201);
    expect(await tokenNames(gw)).toContain(token);
  });
});

describe('Transfer-Encoding outside HTTP/1.1', () => {
  it('refuses it in an HTTP/1.0 request (RFC 9112 6.1: faulty framing) with 400 transfer_encoding_invalid', async () => {
    const res = await exchange(g, tokenRequest(g, ['chunked'], 'te-http10', '1.0'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.slice(0, res.body.indexOf('}') + 1))).toMatchObject({ code: 'transfer_encoding_invalid' });
    expect(await tokenNames(g)).not.toContain('te-http10');
  });
});

describe('the record of a refusal', () => {
  it('audits it as guard.framing with its code, and logs it with the request id', async () => {
    // A gateway of its own: the refusals of the tables above fall in the same window and are counted
    // together (docs/audit.md); the first refusal of a window is written at once.
    const fresh = await startGateway();
    try {
      const res = await exchange(fresh, tokenRequest(fresh, ['gzip, chunked'], 'te-audited'));
      const requestId = /^x-request-id: (.+)$/im.exec(res.head)?.[1]?.trim();
      expect(requestId).toBeDefined();
      const list = await fresh.fetch('/api/v1/audit?after=0&limit=1000');
      const entry = (list.json.entries as Array<{ requestId?: string }>).find((e) => e.requestId === requestId);
      expect(entry).toMatchObject({
        type: 'guard.framing',
        outcome: 'denied',
        code: 'transfer_coding_unsupported',
        status: 501,
        client: '127.0.0.1',
        clientRequestId: 'te-audited',
      });
      expect(fresh.logs.entries().find((e) => e['reqId'] === requestId)).toMatchObject({ code: 'transfer_coding_unsupported', clientRequestId: 'te-audited' });
    } finally {
      await fresh.stop();
    }
  });
});
