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
const get = (hostLines: string, target = '/api/v1/health') =>
  rawRequest(port, `GET ${fill(target)} HTTP/1.1\r\n${fill(hostLines)}Connection: close\r\n\r\n`);

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
    await rawRequest(port, 'POST /api/v1/tokens HTTP/1.1\r\nX-Request-Id: no-host-audit\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', '127.0.0.1', 5000, '127.0.0.7');
    const list = await g.fetch('/api/v1/audit?after=0&limit=1000');
    const entries = list.json.entries as Array<{ clientRequestId?: string }>;
    expect(entries.find((e) => e.clientRequestId === 'no-host-audit')).toMatchObject({ type: 'guard.host', outcome: 'denied', code: 'host_not_allowed', status: 421, client: '127.0.0.7' });
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
