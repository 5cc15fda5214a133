/**
 * The console from the CLI (the real dist/main.js): `moat console` prints a single-use sign-in link
 * and its QR code, never a token; `moat pair --console` prints digits for a second device; `moat
 * token list` shows sessions beside tokens and `moat token end-session` ends one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { asPage, cookieOf, exchange } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway({ lockout: { after: 1000 }, rateLimit: { pair: { perMinute: 1000 } } });
});
afterAll(() => g?.stop());

const moat = (...args: string[]) => runCli([...args, '--data-dir', g.dataDir]);
const LINK = /^(https?:\/\/[^/]+)\/console\/#signin=([A-Za-z0-9_-]{43})$/;

describe('moat console', () => {
  it('prints one sign-in link on stdout and its QR code on stderr, holding a code and never a token; the link signs in as admin once', async () => {
    const r = await moat('console');
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.trim();
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    const [, base, code] = LINK.exec(line) ?? [];
    expect(base).toBe(g.url);
    expect(r.stderr).toMatch(/single-use sign-in link for scopes admin, expires/);
    expect(r.stderr).toMatch(/[█▀▄]{10,}/u); // the QR code's rows
    expect(r.stderr).not.toMatch(/or type \d{6}/); // admin is never given by 6 digits
    const admin = readFileSync(join(g.dataDir, 'gateway-token'), 'utf8').trim();
    expect(r.stdout + r.stderr).not.toContain(admin);
    expect(r.stdout + r.stderr).not.toMatch(/moat_[A-Za-z0-9_-]{43}/);
    const s = await exchange(g, code as string);
    expect(s.status).toBe(201);
    expect(s.json.scopes).toEqual(['admin']);
    expect((await exchange(g, code as string)).status).toBe(403);
  });

  it('gives the scopes asked with --scope, the lifetime asked with --ttl, and offers the digits when they may carry the scopes', async () => {
    const r = await moat('console', '--scope', 'read', '--scope', 'jobs', '--ttl', '90s', '--name', 'kitchen-tablet');
    expect(r.code, r.stderr).toBe(0);
    const digits = /or type (\d{6}) on the sign-in page/.exec(r.stderr)?.[1];
    expect(digits).toBeDefined();
    const s = await exchange(g, digits as string);
    expect(s.json).toMatchObject({ name: 'kitchen-tablet', scopes: ['read', 'jobs'] });
    // The digits burnt the link.
    expect((await exchange(g, LINK.exec(r.stdout.trim())?.[2] as string)).status).toBe(403);
  });

  it('prints JSON without a QR code, and refuses a scope that does not exist', async () => {
    const r = await moat('console', '--json', '--scope', 'tasks');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['expiresAt', 'id', 'scopes', 'signinUrl']);
    expect(j.scopes).toEqual(['tasks']);
    expect(j.signinUrl).toMatch(LINK);
    expect(Date.parse(j.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    expect(r.stderr).not.toMatch(/[█▀▄]/u);
    const bad = await moat('console', '--scope', 'root');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown scope/);
  });
});

describe('moat pair --console', () => {
  it('prints 6 digits that the sign-in page trades for a session (not a token), with the link on stderr', async () => {
    const r = await moat('pair', '--console', '--scope', 'read');
    expect(r.code, r.stderr).toBe(0);
    const digits = r.stdout.trim();
    expect(digits).toMatch(/^\d{6}$/);
    expect(r.stderr).toMatch(/console sign-in code for scopes read/);
    expect(r.stderr).toMatch(/\/console\/#signin=/);
    const pairAsToken = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': digits } });
    expect(pairAsToken.status).toBe(403);
    const s = await exchange(g, digits);
    expect(s.status).toBe(201);
    expect(cookieOf(s).pair).toMatch(/^moat_session=/);
  });
});

describe('moat token list and end-session', () => {
  it('lists live sessions beside tokens, with their client, and ends one by id', async () => {
    const link = LINK.exec((await moat('console', '--scope', 'read', '--name', 'phone-session')).stdout.trim())?.[2] as string;
    const res = await exchange(g, link);
    const session = { id: res.json.id as string, cookie: cookieOf(res).pair };
    const table = await moat('token', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${session.id}\\s+phone-session\\s+read\\s+active\\s+\\S+\\s+\\S+\\s+session\\s+127\\.0\\.0\\.1`));
    expect(table.stdout).toMatch(/admin\s+admin\s+admin\s+active/);
    const json = JSON.parse((await moat('token', 'list', '--json')).stdout);
    expect(json.find((t: any) => t.id === session.id)).toMatchObject({ kind: 'session', name: 'phone-session', client: '127.0.0.1' });
    expect(JSON.stringify(json)).not.toContain(session.cookie.split('=')[1]);
    const ended = await moat('token', 'end-session', session.id);
    expect([ended.code, ended.stdout.trim()]).toEqual([0, `ended ${session.id}`]);
    expect((await asPage(g, session, '/api/v1/me')).json.code).toBe('session_invalid');
    expect((await moat('token', 'list')).stdout).not.toContain(session.id);
  });
});
