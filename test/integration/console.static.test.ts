/**
 * The console's files from outside: served from memory without authentication, index.html for
 * every client route (never cached), hashed assets immutable and precompressed per Accept-Encoding,
 * the console's security headers on every answer (refusals included), nothing outside the built
 * files reachable whatever the path, the host guard first (DNS rebinding), and a console that is
 * off or not built answering 404.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'";

const INDEX =
  '<!doctype html><html><head><link rel="stylesheet" href="/console/assets/main-AB12.css"><script type="module" src="/console/assets/main-AB12.js"></script></head><body></body></html>';
const JS = `console.log(${JSON.stringify('x'.repeat(2000))});`;
const CSS = 'body { color: black; }'.repeat(50);

function fixture(): string {
  const dir = tmpDir('moat-console-');
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'index.html.br'), brotliCompressSync(INDEX));
  writeFileSync(join(dir, 'robots.txt'), 'User-agent: *\nDisallow: /\n');
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  writeFileSync(join(dir, 'assets', 'main-AB12.js'), JS);
  writeFileSync(join(dir, 'assets', 'main-AB12.js.br'), brotliCompressSync(JS));
  writeFileSync(join(dir, 'assets', 'main-AB12.js.gz'), gzipSync(JS));
  writeFileSync(join(dir, 'assets', 'main-AB12.css'), CSS);
  writeFileSync(join(dir, 'assets', 'main-AB12.css.gz'), gzipSync(CSS));
  writeFileSync(join(dir, 'assets', 'icon-CD34.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'assets', 'notes.unknown-type'), 'x');
  return dir;
}

let g: TestGateway;
beforeAll(async () => {
  g = await startGateway({}, { consoleAssets: fixture() });
});
afterAll(() => g?.stop());

/** A GET with no token at all, as a browser loading the page. */
async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(`${g.url}${path}`, { method, headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
}

function expectConsoleHeaders(headers: Record<string, unknown>): void {
  expect(headers['content-security-policy']).toBe(CSP);
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['x-frame-options']).toBe('DENY');
}

describe('pages', () => {
  it.each(['/', '/console'])('redirects %s to /console/ without authentication', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('/console/');
    expectConsoleHeaders(res.headers);
  });

  it.each(['/console/', '/console/jobs', '/console/jobs/job_123', '/console/tasks/t-1/x', '/console/access'])(
    'answers %s with index.html, never cached, with the console headers',
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toBe(INDEX);
      expectConsoleHeaders(res.headers);
    },
  );

  it('sends index.html brotli-compressed to a client that accepts it, with Vary', async () => {
    const res = await get('/console/', { 'accept-encoding': 'gzip, br' });
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['vary']).toBe('Accept-Encoding');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await get('/console/access', {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('answers /favicon.ico with 404 without asking for a token', async () => {
    const res = await get('/favicon.ico');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).code).toBe('not_found');
  });
});

describe('assets', () => {
  it.each([
    ['br', 'gzip, deflate, br', 'br'],
    ['gzip when br is refused with q=0', 'br;q=0, gzip', 'gzip'],
    ['br for a wildcard', '*', 'br'],
    ['identity when nothing is accepted', '', undefined],
    ['identity when everything is refused', 'br;q=0, gzip;q=0.0, *;q=0', undefined],
    ['gzip when only gzip is asked for', 'gzip', 'gzip'],
  ])('serves the hashed script as %s, immutable for a year', async (_name, accept, encoding) => {
    const res = await get('/console/assets/main-AB12.js', accept === '' ? {} : { 'accept-encoding': accept });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['vary']).toBe('Accept-Encoding');
    expect(res.headers['content-encoding']).toBe(encoding);
    expectConsoleHeaders(res.headers);
    // undici does not decode: the bytes are the precompressed file as built.
    const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
    const plain = encoding === 'br' ? brotliDecompressSync(res.body) : encoding === 'gzip' ? gunzipSync(res.body) : res.body;
    expect(plain.toString('utf8')).toBe(JS);
  });

  it('serves a file without a .br from its .gz, and one without either as it is (no Vary)', async () => {
    const css = await get('/console/assets/main-AB12.css', { 'accept-encoding': 'br, gzip' });
    expect([css.headers['content-type'], css.headers['content-encoding']]).toEqual(['text/css; charset=utf-8', 'gzip']);
    const svg = await get('/console/assets/icon-CD34.svg', { 'accept-encoding': 'br, gzip' });
    expect([svg.headers['content-type'], svg.headers['content-encoding'], svg.headers['vary']]).toEqual(['image/svg+xml', undefined, undefined]);
  });

  it('serves another top-level built file by its exact name, not cached', async () => {
    const res = await get('/console/robots.txt');
    expect([res.status, res.headers['cache-control'], res.headers['content-type']]).toEqual([200, 'no-store', 'text/plain; charset=utf-8']);
  });
});

describe('nothing else is reachable', () => {
  it.each([
    '/console/assets/nope-0000.js',
    '/console/assets/main-AB12.js.br',
    '/console/assets/main-AB12.js.gz',
    '/console/assets/notes.unknown-type',
    '/console/assets/',
    '/console/assets/sub/main-AB12.js',
    '/console/.env',
    '/console/index.html.br',
    '/console/x/robots.txt',
    '/console/assets/..%2findex.html',
    '/console/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    '/console/..%2f..%2fpackage.json',
    '/console/assets/main-AB12.js%00.png',
    '/console/assets/MAIN-AB12.JS',
  ])('answers %s with a 404 problem carrying the console headers', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text).code).toBe('not_found');
    expect(res.text).not.toContain('"name"'); // not package.json
    expectConsoleHeaders(res.headers);
  });

  it('does not take a dot-segment path out of the console (raw request line)', async () => {
    for (const target of [
      '/console/../package.json',
      '/console/assets/../../package.json',
      '/console/./assets/../.env',
      '/console/%2e%2e/%2e%2e/package.json',
      '/console/assets/%2e%2e/.env',
    ]) {
      const res = await rawRequest(g.gw.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nConnection: close\r\n\r\n`);
      expect(res.body, target).not.toContain('"version"');
      expect(res.body, target).not.toContain('SECRET');
    }
  });

  it.each(['/', '/console/', '/console/jobs', '/console/assets/main-AB12.js'])(
    'refuses %s for a rebinding Host with 421 before serving anything',
    async (path) => {
      const res = await rawRequest(g.gw.port, `GET ${path} HTTP/1.1\r\nHost: rebind.test:${g.gw.port}\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(421);
      expect(res.body).toContain('host_not_allowed');
      expect(res.body).not.toContain('<html');
    },
  );
});

describe('a console that is off or not built', () => {
  it('answers 404 on /console/ when console.enabled is off, refuses console codes, and never honours a session cookie', async () => {
    const h = await startGateway({ console: { enabled: false } }, { consoleAssets: fixture() });
    try {
      const page = await request(`${h.url}/console/`);
      expect(page.statusCode).toBe(404);
      await page.body.dump();
      const mint = await h.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'], console: true } });
      expect([mint.status, mint.json.code]).toEqual([400, 'validation_failed']);
      const ex = await h.fetch('/api/v1/console/session', { method: 'POST', auth: false, body: { code: '123456' } });
      expect(ex.status).toBe(404);
      const cookie = await h.fetch('/api/v1/me', { auth: false, headers: { cookie: `moat_session=${'a'.repeat(43)}`, 'sec-fetch-site': 'cross-site' } });
      expect([cookie.status, cookie.json.code]).toEqual([401, 'auth_required']);
    } finally {
      await h.stop();
    }
  });

  it('boots with an empty console directory and answers 404 not_found, saying nothing of its files', async () => {
    const empty = tmpDir('moat-console-empty-');
    const h = await startGateway({}, { consoleAssets: empty });
    try {
      const res = await request(`${h.url}/console/`);
      const body = (await res.body.json()) as { code: string; detail: string };
      expect(res.statusCode).toBe(404);
      expect(body.code).toBe('not_found');
      expect(body.detail).not.toContain(empty);
      expect(h.logs.text).toContain('the console is not built');
    } finally {
      await h.stop();
    }
  });
});
