/**
 * /api/v1/hooks from outside: admin only, secrets write-only (set/unset in every view, sealed in the
 * database file), config hooks read-only, names unique; (the rate class is in hooks.ratelimit.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { deliver, githubHeaders } from '../helpers/hooks.js';
import { tokenWith } from '../helpers/tools.js';

const API_SECRET = 'api-hook-secret-never-shown-9f2c';
const CFG_SECRET = 'config-hook-secret-never-shown-71';
let g: TestGateway;

beforeAll(async () => {
  g = await startGateway({
    rateLimit: { general: { perMinute: 100_000 } },
    hooks: [{ name: 'from-config', verify: 'github', secret: CFG_SECRET, action: { type: 'task', title: 'x' } }],
  });
});
afterAll(() => g?.stop());

describe('/api/v1/hooks', () => {
  it('registers a hook and never returns its secret (201, then every GET says set)', async () => {
    const res = await g.fetch('/api/v1/hooks', {
      method: 'POST',
      body: { name: 'ci', verify: 'github', secret: API_SECRET, action: { type: 'task', title: 'push {body.ref}' } },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name: 'ci', verify: 'github', secret: 'set', source: 'api', url: '/hooks/ci' });
    const list = await g.fetch('/api/v1/hooks');
    const one = await g.fetch('/api/v1/hooks/ci');
    for (const r of [res, list, one]) expect(r.text).not.toContain(API_SECRET);
    expect(list.text).not.toContain(CFG_SECRET);
    expect(list.json.hooks.map((h: { name: string; secret: string; source: string }) => [h.name, h.secret, h.source])).toEqual([
      ['ci', 'set', 'api'],
      ['from-config', 'set', 'config'],
    ]);
  });

  it('keeps the secret sealed in the database file (not in clear text)', () => {
    const db = readFileSync(join(g.dataDir, 'moat.db'));
    const wal = (() => {
      try {
        return readFileSync(join(g.dataDir, 'moat.db-wal'));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    expect(db.includes(API_SECRET)).toBe(false);
    expect(wal.includes(API_SECRET)).toBe(false);
  });

  it('an API hook verifies deliveries with its sealed secret', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    expect((await deliver(g, 'ci', body, githubHeaders(API_SECRET, body))).status).toBe(202);
    expect((await deliver(g, 'ci', body, githubHeaders('not-the-secret-at-all', body))).status).toBe(401);
  });

  it('a hook registered without a secret shows unset and refuses every delivery', async () => {
    expect(
      (await g.fetch('/api/v1/hooks', { method: 'POST', body: { name: 'bare', verify: 'secret', action: { type: 'task', title: 't' } } })).json.secret,
    ).toBe('unset');
    expect((await deliver(g, 'bare', '{}', { 'content-type': 'application/json', 'x-webhook-secret': '' })).status).toBe(401);
  });

  it.each([
    ['a name taken in the API', { name: 'ci', verify: 'github', secret: API_SECRET, action: { type: 'task', title: 't' } }, 409, 'hook_exists'],
    [
      'a name taken in the config file',
      { name: 'from-config', verify: 'github', secret: API_SECRET, action: { type: 'task', title: 't' } },
      409,
      'hook_exists',
    ],
    ['a short secret', { name: 'short', verify: 'github', secret: 'short', action: { type: 'task', title: 't' } }, 400, 'validation_failed'],
    ['an unknown scheme', { name: 'x', verify: 'sha1', secret: API_SECRET, action: { type: 'task', title: 't' } }, 400, 'validation_failed'],
    [
      'a name that is not a URL segment',
      { name: '../x', verify: 'github', secret: API_SECRET, action: { type: 'task', title: 't' } },
      400,
      'validation_failed',
    ],
    [
      'an action of no known type',
      { name: 'y', verify: 'github', secret: API_SECRET, action: { type: 'exec', command: 'rm -rf /' } },
      400,
      'validation_failed',
    ],
    [
      'a verify token on a non-WhatsApp hook',
      { name: 'z', verify: 'github', secret: API_SECRET, verifyToken: 'verify-token-0123456', action: { type: 'task', title: 't' } },
      400,
      'validation_failed',
    ],
  ])('refuses %s', async (_label, body, status, code) => {
    const res = await g.fetch('/api/v1/hooks', { method: 'POST', body });
    expect([res.status, res.json.code]).toEqual([status, code]);
  });

  it('removes API hooks, not config ones', async () => {
    expect((await g.fetch('/api/v1/hooks/from-config', { method: 'DELETE' })).json.code).toBe('hook_readonly');
    expect((await g.fetch('/api/v1/hooks/bare', { method: 'DELETE' })).status).toBe(200);
    expect((await g.fetch('/api/v1/hooks/bare')).json.code).toBe('hook_not_found');
    expect((await g.fetch('/api/v1/hooks/bare', { method: 'DELETE' })).json.code).toBe('hook_not_found');
  });

  it('is admin only: a hooks-scoped token is refused', async () => {
    const t = await tokenWith(g, 'hooks-only', ['hooks']);
    expect((await g.fetch('/api/v1/hooks', { auth: t })).status).toBe(403);
    expect(
      (
        await g.fetch('/api/v1/hooks', {
          method: 'POST',
          auth: t,
          body: { name: 'q', verify: 'github', secret: API_SECRET, action: { type: 'task', title: 't' } },
        })
      ).status,
    ).toBe(403);
  });
});
