/** Pairing from outside: a code is minted by an admin and traded once for a token with its scopes. */
import { describe, expect, it } from 'vitest';
import { runCli, spawnServe } from '../helpers/cli.js';
import { gateways, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';

let clock = Date.parse('2026-11-23T12:00:00Z');
const start = gateways('each');
const boot = (values: Record<string, unknown> = {}) => start({ lockout: { after: 1000 }, ...values }, { now: () => clock });

const mint = (g: TestGateway, body: Record<string, unknown>) => g.fetch('/api/v1/pairing-codes', { method: 'POST', body });
const pair = (g: TestGateway, code: string, body?: unknown) =>
  g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': code }, ...(body === undefined ? {} : { body }) });

describe('pairing', () => {
  it('trades a code for a token with the scopes chosen when minted, once', async () => {
    const g = await boot();
    const minted = await mint(g, { scopes: ['read', 'jobs'], name: 'phone' });
    expect(minted.status).toBe(201);
    expect(minted.json.code).toMatch(/^\d{6}$/);
    expect(Date.parse(minted.json.expiresAt) - clock).toBe(300_000);
    const paired = await pair(g, minted.json.code);
    expect(paired.status).toBe(201);
    expect(paired.json).toMatchObject({ name: 'phone', scopes: ['read', 'jobs'], expiresAt: null });
    expect((await g.fetch('/api/v1/status', { auth: paired.json.token })).status).toBe(200);
    expect((await g.fetch('/api/v1/tokens', { auth: paired.json.token })).status).toBe(403);
    const again = await pair(g, minted.json.code);
    expect(again.status).toBe(403);
    expect(again.json.code).toBe('pairing_code_invalid');
  });

  it('lets the device name its token, and gives the token the lifetime chosen when minted', async () => {
    const g = await boot();
    const { json } = await mint(g, { scopes: ['read'], tokenTtlSeconds: 3600 });
    const paired = await pair(g, json.code, { name: 'my-phone' });
    expect(paired.json.name).toBe('my-phone');
    expect(Date.parse(paired.json.expiresAt) - clock).toBe(3_600_000);
  });

  it('gives the same answer for a wrong, an expired and a used code', async () => {
    const g = await boot();
    const a = await mint(g, { scopes: ['read'], ttlSeconds: 60 });
    const b = await mint(g, { scopes: ['read'] });
    await pair(g, b.json.code);
    clock += 61_000;
    const wrongCode = a.json.code === '000000' ? '000001' : '000000';
    const answers = [await pair(g, a.json.code), await pair(g, b.json.code), await pair(g, wrongCode), await pair(g, 'abcdef')];
    const missing = await g.fetch('/api/v1/pair', { method: 'POST', auth: false });
    expect(missing.json.code).toBe('pairing_code_invalid');
    for (const r of answers) {
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('pairing_code_invalid');
      expect(r.json.detail).toBe(answers[0]?.json.detail);
    }
  });

  it('refuses to mint a code that grants admin, or lives longer than pairing.maxTtlSeconds', async () => {
    const g = await boot();
    expect((await mint(g, { scopes: ['admin'] })).status).toBe(400);
    expect((await mint(g, { scopes: ['read'], ttlSeconds: 7200 })).status).toBe(400);
    expect(
      (await mint(g, { scopes: ['read'] }).then(() => g.fetch('/api/v1/pairing-codes', { method: 'POST', auth: false, body: { scopes: ['read'] } }))).status,
    ).toBe(401);
  });

  it.each([
    [{ scopes: ['read', 'no-such-scope'] }, /unknown scope/],
    [{ scopes: [] }, /scopes/],
    [{ scopes: ['read'], name: 'bad!name' }, /name/],
    [{ scopes: ['read'], name: ' ' }, /name/],
  ])('refuses to mint a code that could never be redeemed: %j', async (body, detail) => {
    const g = await boot();
    const res = await mint(g, body);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_failed');
    expect(res.json.detail).toMatch(detail);
  });

  it('keeps a code good when the token it would give is refused: a malformed or taken name', async () => {
    const g = await boot();
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'phone', scopes: ['read'] } })).status).toBe(201);
    const { json } = await mint(g, { scopes: ['read'], name: 'phone' });
    const badName = await pair(g, json.code, { name: 'my phone!' });
    expect([badName.status, badName.json.code]).toEqual([400, 'validation_failed']);
    const taken = await pair(g, json.code);
    expect([taken.status, taken.json.code]).toEqual([409, 'conflict']);
    expect(taken.json.detail).toMatch(/phone/);
    const ok = await pair(g, json.code, { name: 'phone-2' });
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({ name: 'phone-2', scopes: ['read'] });
    expect((await pair(g, json.code, { name: 'phone-3' })).json.code).toBe('pairing_code_invalid');
  });

  it('starts the failure count over after a code is redeemed, like a good token', async () => {
    const g = await boot({ lockout: { after: 3, baseMs: 1000, maxMs: 60000 } });
    const { json } = await mint(g, { scopes: ['read'] });
    const wrong = json.code === '999999' ? '999998' : '999999';
    expect((await pair(g, wrong)).status).toBe(403);
    expect((await pair(g, wrong)).status).toBe(403);
    expect((await pair(g, json.code)).status).toBe(201);
    // Without the reset these would be the third failure and then a lockout.
    expect((await pair(g, wrong)).status).toBe(403);
    expect((await pair(g, wrong)).status).toBe(403);
    expect((await pair(g, wrong)).status).toBe(403);
    expect((await pair(g, wrong)).status).toBe(429);
  });

  it('counts wrong codes towards the lockout', async () => {
    const g = await boot({ lockout: { after: 3, baseMs: 1000, maxMs: 60000 } });
    for (let i = 0; i < 3; i++) expect((await pair(g, '999999')).status).toBe(403);
    const locked = await pair(g, '999999');
    expect(locked.status).toBe(429);
    expect(locked.json.code).toBe('locked_out');
  });

  it('never stores a code in the clear', async () => {
    const g = await boot();
    const { json } = await mint(g, { scopes: ['read'] });
    await g.stop();
    const fs = await import('node:fs');
    const raw = ['moat.db', 'moat.db-wal']
      .filter((f) => fs.existsSync(`${g.dataDir}/${f}`))
      .map((f) => fs.readFileSync(`${g.dataDir}/${f}`).toString('latin1'))
      .join('');
    expect(raw).not.toContain(json.code);
  });
});

describe('pairing from the CLI', () => {
  it('moat pair prints a code that redeems to a token with the asked scopes', async () => {
    const g = await boot();
    const res = await runCli(['pair', '--data-dir', g.dataDir, '--scope', 'read', '--scope', 'tasks', '--ttl', '2m', '--name', 'teammate']);
    expect(res.code).toBe(0);
    const code = res.stdout.trim();
    expect(code).toMatch(/^\d{6}$/);
    const paired = await pair(g, code);
    expect(paired.json).toMatchObject({ name: 'teammate', scopes: ['read', 'tasks'] });
  });

  it('moat serve --pair prints a code at boot', async () => {
    const dataDir = tmpDir();
    const p = await spawnServe(['--data-dir', dataDir, '--port', '0', '--pair']);
    const code = (await waitFor(() => /pairing code (\d{6})/.exec(p.stdout()), 'the pairing code on stdout'))[1];
    expect(code).toMatch(/^\d{6}$/);
    const res = await fetch(`${p.url}/api/v1/pair`, { method: 'POST', headers: { 'x-pairing-code': code as string } });
    expect(res.status).toBe(201);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
