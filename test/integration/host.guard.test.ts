/**
 * DNS rebinding from outside: raw HTTP/1.1 requests with every Host shape an attacker might send.
 * Only the bound address, the loopback names and the configured public names get through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

let g: TestGateway;
let port: number;

beforeAll(async () => {
  g = await startGateway({ publicNames: ['moat.example.com', 'box.lan:8443', '100.101.102.103'] });
  port = g.gw.port;
});
afterAll(() => g.stop());

/** Tables are built before the gateway starts: `PORT` stands for its port and is filled in here. */
const fill = (s: string) => s.replaceAll('PORT', String(port)).replaceAll('NEXT', String(port + 1));
const get = (hostLines: string, target = '/api/v1/health') => rawRequest(port, `GET ${fill(target)} HTTP/1.1\r\n${fill(hostLines)}Connection: close\r\n\r\n`);

describe('Host header allowlist on a loopback bind', () => {
  const allowed = [
    `Host: 127.0.0.1:PORT`,
    `Host: localhost:PORT`,
    `Host: LOCALHOST:PORT`,
    `Host: [::1]:PORT`,
    'Host: moat.example.com',
    `Host: moat.example.com:PORT`,
    'Host: MOAT.Example.COM:1234',
    'Host: box.lan:8443',
    'Host: 100.101.102.103',
  ];
  it.each(allowed.map((h) => [h]))('accepts %s', async (host) => {
    const res = await get(`${host}\r\n`);
    expect(res.status).toBe(200);
  });

  const refused = [
    ['a foreign name', 'Host: evil.com'],
    ['a rebinding name with our port', `Host: evil.com:PORT`],
    ['localhost as a subdomain', `Host: localhost.evil.com:PORT`],
    ['a suffix trick', `Host: 127.0.0.1.nip.io:PORT`],
    ['a trailing dot', `Host: localhost.:PORT`],
    ['a trailing dot on a public name', 'Host: moat.example.com.'],
    ['the wrong port', `Host: 127.0.0.1:NEXT`],
    ['loopback without the port', 'Host: localhost'],
    ['a public name pinned to another port', 'Host: box.lan:8444'],
    ['a public name pinned to a port, without it', 'Host: box.lan'],
    ['userinfo', `Host: user@localhost:PORT`],
    ['userinfo with password', `Host: a:b@127.0.0.1:PORT`],
    ['an empty Host', 'Host: '],
    ['junk after the port', `Host: 127.0.0.1:PORT/x`],
    ['a port with letters', 'Host: moat.example.com:80a'],
    ['an unbracketed IPv6 literal', `Host: ::1:PORT`],
    ['another IPv6 literal', `Host: [::2]:PORT`],
    ['an IPv4-mapped spelling of loopback', `Host: [::ffff:127.0.0.1]:PORT`],
    ['a decimal spelling of loopback', `Host: 2130706433:PORT`],
    ['a shortened spelling of loopback', `Host: 127.1:PORT`],
    ['a space inside', `Host: local host:PORT`],
    ['a percent-encoded name', `Host: local%68ost:PORT`],
    ['a port out of range', 'Host: moat.example.com:99999'],
    ['port 0 on an any-port name', 'Host: moat.example.com:0'],
    ['a port with a leading zero on an any-port name', 'Host: moat.example.com:08443'],
    ['a port of zeros', 'Host: moat.example.com:00000'],
    ['an empty port on an any-port name', 'Host: moat.example.com:'],
    ['an empty port on our address', 'Host: 127.0.0.1:'],
    ['our port with a leading zero', `Host: 127.0.0.1:0PORT`],
    ['a pinned port with a leading zero', 'Host: box.lan:08443'],
    ['a signed port', 'Host: moat.example.com:+443'],
    ['an empty label', 'Host: moat..example.com'],
    ['a leading dot', 'Host: .moat.example.com'],
    ['a trailing dot on an address', 'Host: 100.101.102.103.'],
    ['a non-canonical IPv6 loopback', `Host: [0:0:0:0:0:0:0:1]:PORT`],
    ['an IPv6 zone id', `Host: [::1%25lo]:PORT`],
    ['an IPv6 zone id, not encoded', `Host: [::1%lo]:PORT`],
    ['a percent-encoded dot', 'Host: moat%2Eexample.com'],
    ['a backslash', `Host: localhost\\:PORT`],
  ];
  it.each(refused)('refuses %s with 421 host_not_allowed', async (_name, host) => {
    const res = await get(`${host}\r\n`);
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'host_not_allowed', status: 421 });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each([
    ['without any Host header', ''],
    ['with an empty Host header', 'Host:\r\n'],
    ['with a Host header of blanks', 'Host:   \r\n'],
  ])('refuses an HTTP/1.1 request %s with 421 host_not_allowed from the guard', async (_name, hostLine) => {
    const res = await rawRequest(port, `GET /api/v1/health HTTP/1.1\r\n${hostLine}X-Request-Id: no-host-1\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(421);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'host_not_allowed', status: 421, requestId: id, detail: 'missing Host header' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const line = g.logs.entries().find((e) => e['reqId'] === id);
    expect(line).toMatchObject({ level: 40, client: '127.0.0.1', code: 'host_not_allowed', msg: 'refused: missing Host header', clientRequestId: 'no-host-1' });
  });

  it('audits a request without Host as a host guard refusal', async () => {
    // From an address of its own: the first refusal of its window is written at once (repeats are counted).
    await rawRequest(
      port,
      'POST /api/v1/tokens HTTP/1.1\r\nX-Request-Id: no-host-audit\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      '127.0.0.1',
      5000,
      '127.0.0.7',
    );
    const list = await g.fetch('/api/v1/audit?after=0&limit=1000');
    const entries = list.json.entries as Array<{ clientRequestId?: string }>;
    expect(entries.find((e) => e.clientRequestId === 'no-host-audit')).toMatchObject({
      type: 'guard.host',
      outcome: 'denied',
      code: 'host_not_allowed',
      status: 421,
      client: '127.0.0.7',
    });
  });

  it('refuses an HTTP/1.0 request without a Host header', async () => {
    const res = await rawRequest(port, 'GET /api/v1/health HTTP/1.0\r\n\r\n');
    expect(res.status).toBe(421);
  });

  it('refuses duplicate Host headers even when both are allowed', async () => {
    const res = await get(`Host: 127.0.0.1:PORT\r\nHost: 127.0.0.1:PORT\r\n`);
    expect([400, 421]).toContain(res.status);
  });

  it('refuses duplicate Host headers where the second is foreign', async () => {
    const res = await get(`Host: 127.0.0.1:PORT\r\nHost: evil.com\r\n`);
    expect([400, 421]).toContain(res.status);
  });

  it('refuses an absolute-form target naming another host', async () => {
    const res = await get(`Host: 127.0.0.1:PORT\r\n`, 'http://evil.com/api/v1/health');
    expect(res.status).toBe(421);
  });

  it('refuses an absolute-form target naming another port of ours', async () => {
    const res = await get(`Host: 127.0.0.1:PORT\r\n`, `http://127.0.0.1:NEXT/api/v1/health`);
    expect(res.status).toBe(421);
  });

  it('guards authenticated routes too, before authentication', async () => {
    const res = await get(`Host: evil.com\r\nAuthorization: Bearer ${g.token}\r\n`, '/api/v1/status');
    expect(res.status).toBe(421);
  });

  it('logs the refusal with the client address and reason', async () => {
    await get('Host: rebind.attacker.test\r\n');
    const line = g.logs.entries().find((e) => e['code'] === 'host_not_allowed');
    expect(line).toMatchObject({ client: '127.0.0.1', code: 'host_not_allowed' });
    expect(String(line?.['msg'])).toMatch(/refused: Host/);
  });
});

/**
 * Node keeps only the first ~2000 header lines in rawHeaders by default (maxHeadersCount): a second
 * Host after that many lines was invisible to the duplicate check (the request got 200). The listener
 * keeps every line now (the header byte cap bounds them), over plain HTTP/1.1 and over TLS.
 */
describe('duplicate headers after thousands of header lines', () => {
  let big: TestGateway;
  beforeAll(async () => {
    big = await startGateway({ limits: { maxHeaderBytes: 262_144 } });
  });
  afterAll(() => big.stop());

  /** `n` short header lines (5 bytes each), then `tail`. */
  const filler = (n: number) => 'a:b\r\n'.repeat(n);

  it.each([
    ['after 2,100 lines, a foreign second Host', 2100, 'Host: evil.com'],
    ['after 2,100 lines, the same Host again', 2100, 'Host: 127.0.0.1:PORT'],
    ['after 2,100 lines, an uppercase HOST', 2100, 'HOST: evil.com'],
    ['after 2,100 lines, a mixed-case hOsT', 2100, 'hOsT: evil.com'],
    ['after 10,000 lines, a foreign second Host', 10_000, 'Host: evil.com'],
    ['after 40,000 lines, a foreign second Host', 40_000, 'Host: evil.com'],
  ])('refuses a duplicate Host %s with 421 host_not_allowed', async (_name, n, second) => {
    const port = big.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${filler(n)}${second.replace('PORT', String(port))}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'host_not_allowed', detail: 'duplicate Host headers' });
  });

  it('refuses a second Authorization after 2,100 lines with 401 token_invalid', async () => {
    const port = big.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${big.token}\r\n${filler(2100)}Authorization: Bearer someone-else-entirely-000000000000\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'token_invalid', detail: 'several Authorization headers' });
  });

  it('still answers a request with 2,100 harmless header lines', async () => {
    const port = big.gw.port;
    const res = await rawRequest(port, `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${filler(2100)}Connection: close\r\n\r\n`);
    expect(res.status).toBe(200);
  });

  it('refuses a duplicate Host after 2,100 lines over TLS (HTTP/1.1), and HTTP/2 resets a stream with that many', async () => {
    const h = await startGateway({ tls: { enabled: true }, limits: { maxHeaderBytes: 262_144 } });
    try {
      const tls = await import('node:tls');
      const text = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: h.gw.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
          s.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${h.gw.port}\r\n${filler(2100)}Host: evil.com\r\nConnection: close\r\n\r\n`);
        });
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      expect(text).toMatch(/^HTTP\/1\.1 421 /);
      expect(text).toContain('"duplicate Host headers"');
      // HTTP/2 has no such cap to slip past: a stream with more header pairs than the session allows
      // (128) is reset (ENHANCE_YOUR_CALM), never served with some of its headers dropped.
      const http2 = await import('node:http2');
      const session = http2.connect(h.url, { ca: (await import('node:fs')).readFileSync(`${h.dataDir}/tls/cert.pem`), servername: 'localhost' });
      session.on('error', () => undefined);
      const headers: Record<string, string> = { ':path': '/api/v1/health' };
      for (let i = 0; i < 300; i++) headers[`x-filler-${i}`] = 'b';
      headers['host'] = 'evil.com';
      const outcome = await new Promise<string>((resolve) => {
        const stream = session.request(headers);
        stream.on('response', (r) => resolve(`status ${String(r[':status'])}`));
        stream.on('error', () => resolve(`reset ${stream.rstCode}`));
        stream.end();
      });
      session.close();
      expect(outcome).toBe(`reset ${http2.constants.NGHTTP2_ENHANCE_YOUR_CALM}`);
    } finally {
      await h.stop();
    }
  });
});

describe('Host header allowlist on a specific-address bind', () => {
  it('does not accept loopback names when bound to one address', async () => {
    const { lanAddress } = await import('../helpers/net.js');
    const lan = lanAddress();
    const h = await startGateway({ host: lan });
    try {
      const { send, agentFor } = await import('../helpers/gateway.js');
      const agent = agentFor(h.gw);
      const ok = await send(agent, `https://${lan}:${h.gw.port}`, h.token, '/api/v1/health');
      expect(ok.status).toBe(200);
      const refused = await send(agent, `https://${lan}:${h.gw.port}`, h.token, '/api/v1/health', { headers: { host: `localhost:${h.gw.port}` } });
      expect(refused.status).toBe(421);
      await agent.close();
    } finally {
      await h.stop();
    }
  });
});

describe('Host header allowlist on the TLS listener', () => {
  it('refuses an HTTP/1.1 request without Host over TLS with 421 host_not_allowed', async () => {
    const h = await startGateway({ tls: { enabled: true } });
    try {
      const tls = await import('node:tls');
      const text = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: h.gw.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
          s.write('GET /api/v1/health HTTP/1.1\r\nX-Request-Id: tls-no-host\r\nConnection: close\r\n\r\n');
        });
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      expect(text).toMatch(/^HTTP\/1\.1 421 /);
      expect(text).toMatch(/\r\ncontent-type: application\/problem\+json/i);
      expect(text).toMatch(/\r\nstrict-transport-security: max-age=/i);
      const id = /\r\nx-request-id: ([^\r]+)/i.exec(text)?.[1];
      expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'host_not_allowed', requestId: id });
    } finally {
      await h.stop();
    }
  });
});

describe('publicNames are checked at boot', () => {
  it.each([
    ['box.lan:0'],
    ['box.lan:08443'],
    ['box.lan:65536'],
    ['box.lan:'],
    ['[fe80::1%eth0]'],
    ['fe80::1%eth0'],
    ['moat.example.com.'],
    ['moat..example.com'],
    ['bücher.example'],
  ])('refuses %s with config_invalid', async (name) => {
    await expect(startGateway({ publicNames: [name] })).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('accepts a non-canonical IPv6 public name and matches the canonical Host a client sends', async () => {
    const h = await startGateway({ publicNames: ['[FE80:0:0:0:0:0:0:1]:8443'] });
    try {
      const res = await rawRequest(h.gw.port, 'GET /api/v1/health HTTP/1.1\r\nHost: [fe80::1]:8443\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(200);
    } finally {
      await h.stop();
    }
  });
});
