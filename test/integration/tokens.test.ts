/** Scoped tokens: created once-shown, listed without secrets, revoked and expired on the next request, across restarts. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { gateways, tmpDir } from '../helpers/gateway.js';

let clock = Date.parse('2026-11-23T12:00:00Z');
const now = () => clock;
const start = gateways('each');
const boot = (dataDir = tmpDir()) => start({ dataDir }, { now });

describe('tokens', () => {
  it('shows the secret once, lists without it, and names its scopes', async () => {
    const g = await boot();
    const created = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'phone', scopes: ['read', 'jobs'] } });
    expect(created.status).toBe(201);
    expect(created.json.token).toMatch(/^moat_[A-Za-z0-9_-]{43}$/);
    expect(created.json).toMatchObject({ name: 'phone', scopes: ['read', 'jobs'], kind: 'token', expiresAt: null, revokedAt: null });
    const list = await g.fetch('/api/v1/tokens');
    expect(list.text).not.toContain(created.json.token);
    expect(list.text).not.toMatch(/hash/);
    expect(list.json.tokens.map((t: { name: string }) => t.name)).toEqual(['admin', 'phone']);
    expect((await g.fetch('/api/v1/status', { auth: created.json.token })).status).toBe(200);
  });

  it.each([
    [{ name: 'x', scopes: ['root'] }, /unknown scope/],
    [{ name: 'x', scopes: [] }, /scopes/],
    [{ name: 'x', scopes: ['svc:'] }, /unknown scope/],
    [{ name: 'x', scopes: ['svc:UPPER'] }, /unknown scope/],
    [{ name: '', scopes: ['read'] }, /name/],
    [{ name: 'x\ny', scopes: ['read'] }, /name/],
    [{ name: 'x', scopes: ['read'], ttlSeconds: 5 }, /ttlSeconds/],
  ])('refuses %j', async (body, message) => {
    const g = await boot();
    const res = await g.fetch('/api/v1/tokens', { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_failed');
    expect(res.json.detail).toMatch(message);
  });

  it('refuses a second active token with the same name', async () => {
    const g = await boot();
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'dup', scopes: ['read'] } })).status).toBe(201);
    const again = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'dup', scopes: ['read'] } });
    expect(again.status).toBe(409);
  });

  it('frees a name when its token is revoked (by id or by name) or has expired, and keeps it across a restart', async () => {
    const dataDir = tmpDir();
    const g = await boot(dataDir);
    const create = (name: string, ttlSeconds?: number) =>
      g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes: ['read'], ...(ttlSeconds ? { ttlSeconds } : {}) } });
    const first = await create('reuse');
    expect((await g.fetch(`/api/v1/tokens/${first.json.id}`, { method: 'DELETE' })).status).toBe(200);
    const second = await create('reuse');
    expect(second.status).toBe(201);
    expect((await g.fetch('/api/v1/tokens/reuse', { method: 'DELETE' })).json.id).toBe(second.json.id);
    expect((await create('reuse')).status).toBe(201);
    expect((await create('brief', 60)).status).toBe(201);
    expect((await create('brief')).status).toBe(409);
    clock += 60_000;
    const after = await create('brief');
    expect(after.status).toBe(201);
    await g.stop();
    const h = await boot(dataDir);
    expect((await h.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'reuse', scopes: ['read'] } })).status).toBe(409);
    expect((await h.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'brief', scopes: ['read'] } })).status).toBe(409);
    // Revoking by name after the restart takes the newest token with that name.
    expect((await h.fetch('/api/v1/tokens/brief', { method: 'DELETE' })).json.id).toBe(after.json.id);
  });

  it('stops a revoked token on its very next request, and after a restart', async () => {
    const dataDir = tmpDir();
    const g = await boot(dataDir);
    const { json } = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'laptop', scopes: ['read'] } });
    expect((await g.fetch('/api/v1/status', { auth: json.token })).status).toBe(200);
    const revoked = await g.fetch(`/api/v1/tokens/${json.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(revoked.json.revokedAt).toBeTruthy();
    expect((await g.fetch('/api/v1/status', { auth: json.token })).status).toBe(401);
    await g.stop();
    const h = await boot(dataDir);
    expect((await h.fetch('/api/v1/status', { auth: json.token })).status).toBe(401);
  });

  it('revokes by name, and refuses to revoke the admin token (rotate it instead)', async () => {
    const g = await boot();
    const { json } = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'by-name', scopes: ['read'] } });
    expect((await g.fetch('/api/v1/tokens/by-name', { method: 'DELETE' })).status).toBe(200);
    expect((await g.fetch('/api/v1/status', { auth: json.token })).status).toBe(401);
    expect((await g.fetch('/api/v1/tokens/admin', { method: 'DELETE' })).status).toBe(409);
    expect((await g.fetch('/api/v1/tokens/nope', { method: 'DELETE' })).status).toBe(404);
  });

  it('stops an expired token on its very next request, and after a restart', async () => {
    const dataDir = tmpDir();
    const g = await boot(dataDir);
    const { json } = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'short', scopes: ['read'], ttlSeconds: 60 } });
    expect(json.expiresAt).toBe(new Date(clock + 60_000).toISOString());
    clock += 59_000;
    expect((await g.fetch('/api/v1/status', { auth: json.token })).status).toBe(200);
    clock += 1_000;
    expect((await g.fetch('/api/v1/status', { auth: json.token })).status).toBe(401);
    await g.stop();
    const h = await boot(dataDir);
    expect((await h.fetch('/api/v1/status', { auth: json.token })).status).toBe(401);
  });

  it('records last use', async () => {
    const dataDir = tmpDir();
    const g = await boot(dataDir);
    const { json } = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'used', scopes: ['read'] } });
    await g.fetch('/api/v1/status', { auth: json.token });
    const list = await g.fetch('/api/v1/tokens');
    expect(list.json.tokens.find((t: { name: string }) => t.name === 'used').lastUsedAt).toBe(new Date(clock).toISOString());
  });
});

describe('the admin token rotation', () => {
  it('replaces the token in the data dir; the old one stops at once', async () => {
    const g = await boot();
    const old = g.token;
    const res = await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' });
    expect(res.status).toBe(200);
    const fresh = (await import('node:fs')).readFileSync(`${g.dataDir}/gateway-token`, 'utf8').trim();
    expect(fresh).not.toBe(old);
    expect((await g.fetch('/api/v1/status', { auth: old })).status).toBe(401);
    expect((await g.fetch('/api/v1/status', { auth: fresh })).status).toBe(200);
    // The gateway's own copy (what an embedding program reads as gw.token) follows the file.
    expect(g.gw.token).toBe(fresh);
  });

  it('is refused when the admin token came from --admin-token/MOAT_ADMIN_TOKEN', async () => {
    const g = await start({}, { env: { MOAT_ADMIN_TOKEN: 'an-operator-supplied-token-of-length-40' } });
    expect((await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' })).status).toBe(409);
  });
});

describe('moat token CLI', () => {
  it('creates with scopes and ttl, lists, revokes by name, rotates the admin token', async () => {
    const g = await boot();
    const created = await runCli([
      'token',
      'create',
      '--data-dir',
      g.dataDir,
      '--name',
      'phone',
      '--scope',
      'read',
      '--scope',
      'jobs',
      '--ttl',
      '30d',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const t = JSON.parse(created.stdout);
    expect(t).toMatchObject({ name: 'phone', scopes: ['read', 'jobs'] });
    expect(Date.parse(t.expiresAt) - clock).toBe(30 * 86_400_000);
    const human = await runCli(['token', 'create', '--data-dir', g.dataDir, '--name', 'tablet']);
    expect(human.stdout.trim()).toMatch(/^moat_/);
    expect(human.stderr).toMatch(/shown only once/);
    const list = await runCli(['token', 'list', '--data-dir', g.dataDir]);
    expect(list.stdout).toMatch(/phone\s+read,jobs\s+active/);
    expect(list.stdout).not.toContain(t.token);
    expect((await runCli(['token', 'revoke', '--data-dir', g.dataDir, 'phone'])).stdout).toMatch(/revoked/);
    expect((await g.fetch('/api/v1/status', { auth: t.token })).status).toBe(401);
    const rotated = await runCli(['token', 'rotate-admin', '--data-dir', g.dataDir]);
    expect(rotated.code).toBe(0);
    expect((await g.fetch('/api/v1/status', { auth: g.token })).status).toBe(401);
    const fresh = (await import('node:fs')).readFileSync(`${g.dataDir}/gateway-token`, 'utf8').trim();
    expect((await g.fetch('/api/v1/status', { auth: fresh })).status).toBe(200);
  });
});
