/**
 * Attacks on a signed-in console from the same browser: a web app on another port of 127.0.0.1 (the
 * same site, so SameSite=Strict still sends the cookie) tries a credentialed fetch, a form POST and
 * an iframe; a DNS-rebinding name pointed at 127.0.0.1 tries to load the console. Each is refused.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Response } from 'playwright-core';
import type { TestGateway } from '../helpers/gateway.js';
import { BROWSER_TEST_MS, consoleGateway, launch, signedIn, type SignedIn } from './browser.js';

let g: TestGateway;
let browser: Browser;
let admin: SignedIn;
let evil: http.Server;
let evilUrl: string;
/** Pages the attacker's server hands out, by path. */
const pages = new Map<string, string>();

beforeAll(async () => {
  [g, browser] = await Promise.all([consoleGateway(), launch()]);
  evil = http.createServer((req, res) => {
    const body = pages.get(req.url ?? '') ?? 'nothing here';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  admin = await signedIn(browser, g);
});

afterAll(async () => {
  await browser?.close();
  await g?.stop();
  await new Promise((r) => evil?.close(r));
});

afterEach(() => {
  // The signed-in console page itself saw no CSP violation and no error through all of it.
  expect(admin.watch.violations).toEqual([]);
  expect(admin.watch.errors).toEqual([]);
});

async function tokenNames(): Promise<string[]> {
  return ((await g.fetch('/api/v1/tokens')).json.tokens as Array<{ name: string }>).map((t) => t.name);
}

/** Waits for the gateway's answer to the page's request to `path`, with its problem code. */
async function answer(res: Promise<Response>): Promise<{ status: number; code: string }> {
  const r = await res;
  return { status: r.status(), code: ((await r.json()) as { code: string }).code };
}

describe('console from another origin', { timeout: BROWSER_TEST_MS }, () => {
  it('refuses a credentialed fetch POST from a page on another port of 127.0.0.1 with 403 csrf_refused', async () => {
    // text/plain needs no preflight: this request does reach the gateway, with the Strict cookie.
    pages.set(
      '/fetch',
      `<!doctype html><script>
      fetch(${JSON.stringify(`${g.url}/api/v1/tokens`)}, { method: 'POST', credentials: 'include', mode: 'no-cors',
        headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'stolen-by-fetch', scopes: ['admin'] }) });
    </script>`,
    );
    const page = await admin.context.newPage();
    const res = page.waitForResponse((r) => r.url() === `${g.url}/api/v1/tokens` && r.request().method() === 'POST');
    await page.goto(`${evilUrl}/fetch`);
    // The page cannot read the answer (opaque); the browser saw its status, and the gateway recorded
    // why. csrf_refused is only ever the answer to a request carrying the session cookie: without it,
    // the same request is refused by the origin guard instead (the third test of this file).
    expect((await res).status()).toBe(403);
    await expect
      .poll(async () => ((await g.fetch('/api/v1/audit?limit=1000')).json.entries as Array<Record<string, unknown>>).find((e) => e['code'] === 'csrf_refused'))
      .toMatchObject({ type: 'guard.csrf', outcome: 'denied', route: '/api/v1/tokens', method: 'POST', status: 403 });
    expect(await tokenNames()).not.toContain('stolen-by-fetch');
    await page.close();
  });

  it('refuses a form POST from a page on another port of 127.0.0.1 with 403 csrf_refused', async () => {
    pages.set(
      '/form',
      `<!doctype html><form method="POST" enctype="text/plain" action=${JSON.stringify(`${g.url}/api/v1/tokens`)}>
      <input type="hidden" name='{"name":"stolen-by-form","scopes":["admin"],"x":"' value='"}'></form>
      <script>document.forms[0].submit()</script>`,
    );
    const page = await admin.context.newPage();
    // The form navigates its tab to the gateway's refusal (and the browser asks that page for its icon).
    admin.watch.expectRefusal('/api/v1/tokens', 403);
    admin.watch.expectRefusal('/favicon.ico', 404);
    const res = page.waitForResponse((r) => r.url() === `${g.url}/api/v1/tokens` && r.request().method() === 'POST');
    await page.goto(`${evilUrl}/form`);
    expect(await answer(res)).toEqual({ status: 403, code: 'csrf_refused' });
    expect(await tokenNames()).not.toContain('stolen-by-form');
    await page.close();
  });

  it('refuses the same cross-site fetch from a browser without a session as a foreign origin, not as CSRF: the cookie made the difference', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const res = page.waitForResponse((r) => r.url() === `${g.url}/api/v1/tokens` && r.request().method() === 'POST');
      await page.goto(`${evilUrl}/fetch`);
      expect((await res).status()).toBe(403);
      await expect
        .poll(async () =>
          ((await g.fetch('/api/v1/audit?limit=1000')).json.entries as Array<Record<string, unknown>>).find((e) => e['code'] === 'origin_not_allowed'),
        )
        .toMatchObject({ type: 'guard.origin', route: '/api/v1/tokens' });
    } finally {
      await context.close();
    }
  });

  it('cannot embed the console in an iframe (frame-ancestors none)', async () => {
    pages.set('/frame', `<!doctype html><iframe name="victim" src=${JSON.stringify(`${g.url}/console/`)}></iframe>`);
    const page = await admin.context.newPage();
    const blocked = new Promise<string>((resolve) =>
      page.on('console', (m) => {
        if (/frame-ancestors/.test(m.text())) resolve(m.text());
      }),
    );
    const res = page.waitForResponse((r) => r.url() === `${g.url}/console/`);
    await page.goto(`${evilUrl}/frame`);
    expect((await res).headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(await blocked).toMatch(/frame-ancestors 'none'/);
    const frame = page.frames().find((f) => f.name() === 'victim')!;
    // The frame never holds the console: no app was rendered in it.
    expect(frame.url()).not.toBe(`${g.url}/console/`);
    await page.close();
  });
});

describe('console under DNS rebinding', { timeout: BROWSER_TEST_MS }, () => {
  it('answers a page loaded as http://rebind.test:<port>/console/ with 421 and never serves the console', async () => {
    const rebinding = await launch(['--host-resolver-rules=MAP rebind.test 127.0.0.1']);
    try {
      const page = await rebinding.newPage();
      const port = new URL(g.url).port;
      const res = await page.goto(`http://rebind.test:${port}/console/`);
      expect(res!.status()).toBe(421);
      expect((await res!.json()).code).toBe('host_not_allowed');
      expect(await page.locator('#app').count()).toBe(0);
      // Nor its assets, nor a client route: the host guard comes before everything.
      for (const path of ['/console/jobs', '/console/assets/main.js', '/']) {
        const other = await page.goto(`http://rebind.test:${port}${path}`);
        expect(other!.status(), path).toBe(421);
      }
    } finally {
      await rebinding.close();
    }
  });
});
