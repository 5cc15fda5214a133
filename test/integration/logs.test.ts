/** The JSON log: refusals logged with client and reason; tokens, Authorization and secrets never in it. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { LogCapture, TEST_KEY_FILE, startGateway } from '../helpers/gateway.js';

describe('the log', () => {
  it('records every refused request with the client address and the reason, and no secret', async () => {
    const g = await startGateway({ allowedOrigins: ['https://ok.example'] });
    const bad = 'moat_THISISNOTVALIDBUTSECRETLOOKINGTOKENVALUE123';
    await g.fetch('/api/v1/status', { auth: bad });
    await g.fetch('/api/v1/status', { auth: false });
    await g.fetch('/api/v1/status', { headers: { host: 'evil.example' } });
    await g.fetch('/api/v1/status', { headers: { origin: 'https://evil.example' } });
    const created = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'n', scopes: ['read'] } });
    await g.fetch('/api/v1/tokens', { auth: created.json.token });
    await g.stop();
    const refusals = g.logs.entries().filter((e) => typeof e['code'] === 'string');
    expect(refusals.map((e) => e['code'])).toEqual(
      expect.arrayContaining(['token_invalid', 'auth_required', 'host_not_allowed', 'origin_not_allowed', 'scope_required']),
    );
    for (const e of refusals) {
      expect(e['client']).toBe('127.0.0.1');
      expect(String(e['msg'])).toMatch(/^refused: /);
      expect(e['reqId']).toBeTruthy();
    }
    for (const secret of [bad, g.token, created.json.token]) expect(g.logs.text).not.toContain(secret);
  });

  it('redacts authorization headers, tokens, secrets and passwords wherever they appear in a log object', () => {
    const out = new LogCapture();
    const log = createLogger({ level: 'info', destination: out });
    log.info(
      {
        headers: { authorization: 'Bearer moat_a', cookie: 'c=1', 'x-pairing-code': '123456' },
        token: 'moat_b',
        detail: { secret: 's3cr3t', password: 'hunter2' },
      },
      'x',
    );
    log.info({ req: { headers: { authorization: 'Bearer moat_c' } } }, 'y');
    for (const secret of ['moat_a', 'moat_b', 'moat_c', 'c=1', '123456', 's3cr3t', 'hunter2']) expect(out.text).not.toContain(secret);
    expect(out.text).toContain('[redacted]');
  });

  it('redacts the same in pretty lines (--log-format pretty), which are human lines, not JSON', () => {
    const out = new LogCapture();
    const log = createLogger({ level: 'info', destination: out, format: 'pretty' });
    log.info(
      {
        headers: { authorization: 'Bearer moat_a', cookie: 'c=1', 'x-pairing-code': '123456' },
        token: 'moat_b',
        detail: { secret: 's3cr3t', password: 'hunter2' },
      },
      'x',
    );
    log.warn({ req: { headers: { authorization: 'Bearer moat_c' } }, pairingCode: '654321' }, 'y');
    for (const secret of ['moat_a', 'moat_b', 'moat_c', 'c=1', '123456', '654321', 's3cr3t', 'hunter2']) expect(out.text).not.toContain(secret);
    expect(out.lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}x {2}/);
    expect(out.lines[1]).toMatch(/^\d\d:\d\d:\d\d WARN {2}y {2}.*pairingCode=\[redacted\]$/);
  });
});

describe('the gateway as a library', () => {
  it('createGateway() gives start(), stop(), url, token and tlsFingerprint', async () => {
    const { createGateway } = await import('../../src/gateway.js');
    const { tmpDir } = await import('../helpers/gateway.js');
    const gw = createGateway({ values: { port: 0, dataDir: tmpDir(), tls: { enabled: true }, logLevel: 'silent', audit: { keyFile: TEST_KEY_FILE } } });
    await gw.start();
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(gw.token).toMatch(/^moat_/);
    expect(gw.tlsFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await gw.stop();
    await gw.stop(); // idempotent
  });
});
