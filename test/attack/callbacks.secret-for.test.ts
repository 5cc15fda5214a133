/**
 * Attack on GET /api/v1/callbacks/secret?for=<url>, the receiver keys: a key lets whoever holds it
 * sign for that receiver, so only admin gets one (every other scope, and no token, is refused before
 * the query is looked at); hostile `for` values (not URLs, other schemes, credentials, control
 * characters, overlong, repeated) are 400 with no key; other origins and internal addresses get
 * their own key and nothing is fetched (a key is not a request); each key handed out is audited
 * with its origin and a digest, never the key or the path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited } from '../helpers/hooks.js';
import { tokenWith } from '../helpers/jobs.js';

let g: TestGateway;
let probe: { url: string; hits: number; close(): Promise<void> };

beforeAll(async () => {
  g = await startGateway({ rateLimit: { enabled: false } });
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  probe = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get hits() {
      return hits;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});
afterAll(async () => {
  await g?.stop();
  await probe?.close();
});

const ask = (query: string, auth?: string | boolean) => g.fetch(`/api/v1/callbacks/secret${query}`, auth === undefined ? {} : { auth });
const forUrl = (url: string) => `?for=${encodeURIComponent(url)}`;
const reads = async () => (await audited(g, 'callbacks.secret_read')).length;

describe('who may have a receiver key', () => {
  const HOOK = 'https://moat2.example.com/hooks/from-moat1';
  it.each(['read', 'jobs', 'jobs:all', 'hooks', 'tasks', 'services', 'tools', 'metrics', 'svc:worker'])(
    'a token with %s: 403 scope_required, no key',
    async (scope) => {
      const token = await tokenWith(g, [scope], `scope-${scope.replace(':', '-')}`);
      const res = await ask(forUrl(HOOK), token);
      expect(res.status, res.text).toBe(403);
      expect(res.json.code).toBe('scope_required');
      expect(res.json.secret).toBeUndefined();
    },
  );

  it('no token: 401; a token with every scope but admin: 403', async () => {
    expect((await ask(forUrl(HOOK), false)).status).toBe(401);
    const all = await tokenWith(g, ['read', 'jobs', 'jobs:all', 'hooks', 'tasks', 'services', 'tools', 'metrics'], 'all-but-admin');
    expect((await ask(forUrl(HOOK), all)).status).toBe(403);
  });
});

describe('hostile for values: 400 validation_failed (431 past the header limit), no key, nothing audited as handed out', () => {
  const rows: Array<[string, string]> = [
    ['no for at all', ''],
    ['an empty for', '?for='],
    ['for twice', `?for=${encodeURIComponent('https://a.example/x')}&for=${encodeURIComponent('https://b.example/y')}`],
    ['an extra parameter', `${forUrl('https://a.example/x')}&secret=1`],
    ['a relative path', forUrl('/hooks/a')],
    ['a host and path without a scheme', forUrl('moat2.example.com/hooks/a')],
    ['ftp', forUrl('ftp://a.example/x')],
    ['file', forUrl('file:///etc/passwd')],
    ['javascript', forUrl('javascript:alert(1)')],
    ['data', forUrl('data:text/plain,hi')],
    ['gopher', forUrl('gopher://127.0.0.1:6379/_FLUSHALL')],
    ['credentials', forUrl('https://user:pass@a.example/x')],
    ['a scheme and no host', forUrl('http://')],
    ['a broken IPv6 literal', forUrl('http://[::1/x')],
    ['a forbidden character in the host', forUrl('https://%00.example/x')],
    ['a blank inside', forUrl('https://a.example/x y')],
    ['CR LF and a header after it', forUrl('https://a.example/x\r\nX-Injected: 1')],
    ['a tab (the URL parser would drop it)', forUrl('https://a.exa\tmple/x')],
    ['a NUL', forUrl('https://a.example/x\u0000')],
    ['2049 characters', forUrl(`https://a.example/${'a'.repeat(2049 - 'https://a.example/'.length)}`)],
    ['64 KiB (past limits.maxHeaderBytes)', forUrl(`https://a.example/${'a'.repeat(65_536)}`)],
  ];
  it.each(rows)('%s', async (label, query) => {
    const before = await reads();
    const res = await ask(query);
    const [status, code] = label.startsWith('64 KiB') ? [431, 'headers_too_large'] : [400, 'validation_failed'];
    expect(res.status, res.text).toBe(status);
    expect(res.json.code).toBe(code);
    expect(res.text).not.toMatch(/"secret"/);
    expect(await reads()).toBe(before);
  });
});

describe('other origins and internal addresses: a key of their own, nothing fetched', () => {
  const rows: Array<[string, () => string, () => string]> = [
    ['another origin', () => 'https://evil.example/x', () => 'https://evil.example/x'],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a loopback server (not contacted)', () => `${probe.url}/probe`, () => `${probe.url}/probe`],
    ['IPv6 loopback with its default port', () => 'http://[::1]:80/x', () => 'http://[::1]/x'],
    ['a hex IPv4 (as the egress client would read it)', () => 'http://0x7f000001/x', () => 'http://127.0.0.1/x'],
    ['capitals, a default port, dot segments, query and fragment', () => 'HTTPS://EVIL.example:443/a/../hooks/a?q=1#f', () => 'https://evil.example/hooks/a'],
    ['an international name', () => 'https://bücher.example/x', () => 'https://xn--bcher-kva.example/x'],
    ['2048 characters (the longest callbackUrl)', () => `https://a.example/${'a'.repeat(2048 - 18)}`, () => `https://a.example/${'a'.repeat(2048 - 18)}`],
  ];
  it.each(rows)('%s', async (_label, url, receiver) => {
    const res = await ask(forUrl(url()));
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ receiver: receiver(), secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), header: 'Moat-Signature' });
    expect(res.json.scheme).toContain('v2=');
    const again = await ask(forUrl(receiver()));
    expect(again.json.secret).toBe(res.json.secret);
    const entry = (await audited(g, 'callbacks.secret_read')).at(-1);
    expect(entry).toMatchObject({ outcome: 'ok', actor: { id: 'admin' }, detail: { origin: new URL(receiver()).origin } });
    expect(JSON.stringify(entry)).not.toContain(res.json.secret);
    expect(probe.hits).toBe(0);
  });

  it('every receiver gets its own key', async () => {
    const urls = [
      'https://a.example/x',
      'https://a.example/x/',
      'https://a.example/X',
      'https://a.example:8443/x',
      'http://a.example/x',
      'https://b.example/x',
    ];
    const secrets = await Promise.all(urls.map(async (u) => (await ask(forUrl(u))).json.secret as string));
    expect(new Set(secrets).size).toBe(urls.length);
  });
});
