/** Bearer authentication from outside, on every route but health; the admin token file. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

let g: TestGateway;
beforeAll(async () => {
  // Many deliberate failures from one address here: lockout is tested in lockout.test.ts.
  g = await startGateway({ lockout: { after: 1000 } });
});
afterAll(() => g.stop());

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('bearer authentication', () => {
  it('lets GET /api/v1/health through without a token, disclosing nothing else', async () => {
    const res = await g.fetch('/api/v1/health', { auth: false });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it.each([
    ['GET', '/api/v1/status'],
    ['GET', '/api/v1/openapi.json'],
    ['GET', '/api/v1/tokens'],
    ['POST', '/api/v1/tokens'],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/no-such-route'],
    ['POST', '/api/v1/health'],
  ])('answers %s %s without a token with 401 and WWW-Authenticate: Bearer', async (method, path) => {
    const res = await g.fetch(path, { method, auth: false });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('auth_required');
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
  });

  it.each([
    ['a wrong token', () => 'Bearer moat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['the token with one character changed', () => `Bearer ${g.token.slice(0, -1)}${g.token.endsWith('A') ? 'B' : 'A'}`],
    ['the token with a suffix', () => `Bearer ${g.token}x`],
    ['the token as Basic', () => `Basic ${Buffer.from(`admin:${g.token}`).toString('base64')}`],
    ['the bare token without a scheme', () => g.token],
    ['Bearer without a token', () => 'Bearer '],
    ['two spaces', () => `Bearer  ${g.token}`],
    ['a megabyte of token', () => `Bearer ${'x'.repeat(10_000)}`],
  ])('refuses %s with 401 token_invalid', async (_name, header) => {
    const res = await g.fetch('/api/v1/status', { auth: false, headers: { authorization: header() } });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('token_invalid');
  });

  it('accepts the admin token, with the scheme in any case', async () => {
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    expect((await g.fetch('/api/v1/status', { auth: false, headers: { authorization: `bearer ${g.token}` } })).status).toBe(200);
  });

  it('refuses two Authorization headers even if one is valid', async () => {
    const port = g.gw.port;
    const res = await rawRequest(
      port,
      `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${g.token}\r\nAuthorization: Bearer moat_x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(401);
  });

  it('never echoes the presented token in the response', async () => {
    const res = await g.fetch('/api/v1/status', { auth: false, headers: { authorization: 'Bearer moat_SECRETSECRETSECRETSECRETSECRETSECRETSECRET1' } });
    expect(res.text).not.toContain('SECRETSECRET');
  });
});

describe('the admin token file', () => {
  it('is created 0600 in a 0700 data dir, 256 bits with the moat_ prefix, and reused on restart', async () => {
    const dataDir = join(tmpDir(), 'state');
    const a = await startGateway({ dataDir });
    const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    expect(token).toMatch(/^moat_[A-Za-z0-9_-]{43}$/);
    expect(mode(join(dataDir, 'gateway-token'))).toBe('600');
    expect(mode(dataDir)).toBe('700');
    await a.stop();
    const b = await startGateway({ dataDir });
    expect(b.token).toBe(token);
    expect((await b.fetch('/api/v1/status')).status).toBe(200);
    await b.stop();
  });

  it('stores only the SHA-256 of the token in the database', async () => {
    const dataDir = tmpDir();
    const a = await startGateway({ dataDir });
    await a.stop();
    const fs = await import('node:fs');
    const db = ['moat.db', 'moat.db-wal']
      .filter((f) => fs.existsSync(join(dataDir, f)))
      .map((f) => readFileSync(join(dataDir, f)).toString('latin1'))
      .join('');
    expect(db).not.toContain(a.token);
    const { createHash } = await import('node:crypto');
    expect(db).toContain(createHash('sha256').update(a.token).digest('hex'));
  });

  it('replaces a malformed token file', async () => {
    const dataDir = tmpDir();
    writeFileSync(join(dataDir, 'gateway-token'), 'password123\n', { mode: 0o644 });
    const a = await startGateway({ dataDir });
    expect(a.token).toMatch(/^moat_/);
    expect(mode(join(dataDir, 'gateway-token'))).toBe('600');
    expect(a.logs.text).toMatch(/malformed/);
    await a.stop();
  });

  it('repairs a token file that others can read, and says so', async () => {
    const dataDir = tmpDir();
    const a = await startGateway({ dataDir });
    await a.stop();
    const fs = await import('node:fs');
    fs.chmodSync(join(dataDir, 'gateway-token'), 0o644);
    const b = await startGateway({ dataDir });
    expect(mode(join(dataDir, 'gateway-token'))).toBe('600');
    expect(b.logs.text).toMatch(/readable by others/);
    await b.stop();
  });

  it('uses a token supplied with --admin-token/MOAT_ADMIN_TOKEN without writing it to disk', async () => {
    const dataDir = tmpDir();
    const supplied = 'operator-supplied-admin-token-0123456789';
    const a = await startGateway({ dataDir }, { env: { MOAT_ADMIN_TOKEN: supplied } });
    expect(a.token).toBe(supplied);
    expect((await a.fetch('/api/v1/status')).status).toBe(200);
    await a.stop();
    const fs = await import('node:fs');
    for (const f of fs.readdirSync(dataDir, { recursive: true }) as string[]) {
      const p = join(dataDir, f);
      if (fs.statSync(p).isFile()) expect(fs.readFileSync(p).toString('latin1')).not.toContain(supplied);
    }
  });

  it('refuses a supplied token that is too short', async () => {
    const res = await runCli(['serve', '--data-dir', tmpDir(), '--port', '0', '--admin-token', 'short']);
    expect(res.code).toBe(78);
    expect(res.stderr).not.toContain('short');
  });
});
