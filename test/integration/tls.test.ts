/**
 * TLS from outside: HTTP/2 over TLS 1.3 with HTTP/1.1 fallback, TLS 1.2 refused, the self-signed
 * certificate reused and pinned by fingerprint, an operator certificate honoured.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSelfSigned } from '../../src/http/self-signed.js';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway;
let ca: string;
beforeAll(async () => {
  g = await startGateway({ tls: { enabled: true }, publicNames: ['moat.test'] });
  ca = readFileSync(join(g.dataDir, 'tls', 'cert.pem'), 'utf8');
});
afterAll(() => g.stop());

function h2Get(path: string, token: string): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(g.url, { ca, servername: 'localhost' });
    session.on('error', reject);
    const req = session.request({ ':path': path, authorization: `Bearer ${token}` });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), body, headers });
    });
    req.on('error', reject);
    req.end();
  });
}

function handshake(options: tls.ConnectionOptions): Promise<{ protocol: string | null; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: g.gw.port, ca, servername: 'localhost', ...options }, () => {
      resolve({ protocol: socket.getProtocol(), alpn: socket.alpnProtocol });
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('TLS listener', () => {
  it('speaks HTTP/2 over TLS 1.3', async () => {
    const res = await h2Get('/api/v1/status', g.token);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ tls: { enabled: true, fingerprint: g.gw.tlsFingerprint } });
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('guards HTTP/2 requests the same way (no token -> 401, foreign :authority -> 421)', async () => {
    expect((await h2Get('/api/v1/status', 'wrong')).status).toBe(401);
    const res = await new Promise<number>((resolve, reject) => {
      const session = http2.connect(g.url, { ca, servername: 'localhost' });
      session.on('error', reject);
      const req = session.request({ ':path': '/api/v1/health', ':authority': 'evil.com' });
      req.on('response', (h) => {
        resolve(Number(h[':status']));
        session.close();
      });
      req.on('error', reject);
      req.end();
    });
    expect(res).toBe(421);
  });

  it('falls back to HTTP/1.1 by ALPN', async () => {
    const res = await g.fetch('/api/v1/status');
    expect(res.status).toBe(200);
    expect(await handshake({ ALPNProtocols: ['http/1.1'] })).toEqual({ protocol: 'TLSv1.3', alpn: 'http/1.1' });
    expect((await handshake({ ALPNProtocols: ['h2', 'http/1.1'] })).alpn).toBe('h2');
  });

  it('refuses a TLS 1.2 client', async () => {
    await expect(handshake({ maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' })).rejects.toThrow();
  });

  it('serves the certificate whose fingerprint is printed, in gateway.json and in status', async () => {
    const info = JSON.parse(readFileSync(join(g.dataDir, 'gateway.json'), 'utf8'));
    const served = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: g.gw.port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(served).toBe(g.gw.tlsFingerprint);
    expect(info.tlsFingerprint).toBe(served);
    expect((statSync(join(g.dataDir, 'gateway.json')).mode & 0o777).toString(8)).toBe('600');
  });

  it('issues an ECDSA P-256 certificate for localhost, loopback and the public names, key 0600', () => {
    const cert = new X509Certificate(ca);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('DNS:moat.test');
    expect((statSync(join(g.dataDir, 'tls', 'key.pem')).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(join(g.dataDir, 'tls')).mode & 0o777).toString(8)).toBe('700');
  });
});

describe('the self-signed certificate across restarts', () => {
  it('is reused while it covers the names, and reissued when a new name appears', async () => {
    const dataDir = tmpDir();
    const a = await startGateway({ dataDir, tls: { enabled: true } });
    const first = a.gw.tlsFingerprint;
    await a.stop();
    const b = await startGateway({ dataDir, tls: { enabled: true } });
    expect(b.gw.tlsFingerprint).toBe(first);
    await b.stop();
    const c = await startGateway({ dataDir, tls: { enabled: true }, publicNames: ['new.example'] });
    expect(c.gw.tlsFingerprint).not.toBe(first);
    await c.stop();
  });
});

describe("an operator's own certificate", () => {
  it('is served instead of the self-signed one', async () => {
    const dir = tmpDir();
    const own = issueSelfSigned(['localhost', '127.0.0.1'], 30);
    const fs = await import('node:fs');
    fs.writeFileSync(join(dir, 'own.pem'), own.certPem);
    fs.writeFileSync(join(dir, 'own.key'), own.keyPem, { mode: 0o600 });
    const h = await startGateway({ tls: { enabled: true, cert: join(dir, 'own.pem'), key: join(dir, 'own.key') } });
    try {
      expect(h.gw.tlsFingerprint).toBe(new X509Certificate(own.certPem).fingerprint256);
    } finally {
      await h.stop();
    }
  });

  it('turns TLS on by being given, on a loopback bind where TLS is off by default', async () => {
    const dir = tmpDir();
    const own = issueSelfSigned(['localhost', '127.0.0.1'], 30);
    const fs = await import('node:fs');
    fs.writeFileSync(join(dir, 'own.pem'), own.certPem);
    fs.writeFileSync(join(dir, 'own.key'), own.keyPem, { mode: 0o600 });
    const h = await startGateway({ tls: { cert: join(dir, 'own.pem'), key: join(dir, 'own.key') } });
    try {
      expect(h.url).toMatch(/^https:/);
      expect(h.gw.tlsFingerprint).toBe(new X509Certificate(own.certPem).fingerprint256);
    } finally {
      await h.stop();
    }
    // Given together with TLS turned off, it is a contradiction: refused, never served in clear.
    await expect(startGateway({ tls: { enabled: false, cert: join(dir, 'own.pem'), key: join(dir, 'own.key') } })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining('TLS is turned off'),
    });
  });

  it('is refused at boot when the key does not match', async () => {
    const dir = tmpDir();
    const fs = await import('node:fs');
    fs.writeFileSync(join(dir, 'a.pem'), issueSelfSigned(['localhost'], 30).certPem);
    fs.writeFileSync(join(dir, 'b.key'), issueSelfSigned(['localhost'], 30).keyPem);
    await expect(startGateway({ tls: { enabled: true, cert: join(dir, 'a.pem'), key: join(dir, 'b.key') } })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});

describe('moat status pins the certificate', () => {
  it('works with the fingerprint from the data dir and fails against another certificate', async () => {
    const ok = await runCli(['status', '--data-dir', g.dataDir, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ tls: { enabled: true } });
    const wrong = await runCli(['status', '--data-dir', g.dataDir, '--gateway', g.url, '--fingerprint', 'AA:BB']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/fingerprint/);
  });
});
