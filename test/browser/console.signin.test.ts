/**
 * Signing in to the console in a real browser: the `moat console` link (its code leaves the address
 * bar and history at once, the page keeps no secret anywhere a script can read), a used link, the
 * digits of a pairing code on a second device, and a code minted in the page whose QR code holds the
 * one-time link and which is marked redeemed live.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { encode } from 'uqr';
import type { TestGateway } from '../helpers/gateway.js';
import { BROWSER_TEST_MS, consoleGateway, consoleLink, launch, pageSecrets, PageWatch, qrMatrixOf, sessionCookie, signedIn } from './browser.js';

let g: TestGateway;
let browser: Browser;
const contexts: BrowserContext[] = [];
const watches: PageWatch[] = [];

beforeAll(async () => {
  [g, browser] = await Promise.all([consoleGateway(), launch()]);
});

afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

afterEach(async () => {
  // Zero CSP violations and zero unexplained console errors on every console page of the test.
  for (const w of watches.splice(0)) {
    expect(w.violations).toEqual([]);
    expect(w.errors).toEqual([]);
  }
  for (const c of contexts.splice(0)) await c.close();
});

async function fresh() {
  const context = await browser.newContext();
  contexts.push(context);
  const watch = await PageWatch.attach(context, new URL(g.url).origin);
  watches.push(watch);
  return { context, watch, page: await context.newPage() };
}

describe('console sign-in', { timeout: BROWSER_TEST_MS }, () => {
  it('signs in through the moat console link and removes its code from the address bar and history at once', async () => {
    const link = await consoleLink(g);
    const code = link.slice(link.indexOf('#signin=') + '#signin='.length);
    expect(code.length).toBeGreaterThanOrEqual(20);
    const { context, page } = await fresh();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    expect(page.url()).toBe(`${g.url}/console/`);
    expect(await page.evaluate<string>('location.hash')).toBe('');
    // The first load, as the browser counted it (Resource Timing): compressed, within the 150 KB budget.
    const transferred = await page.evaluate<number>(
      `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .filter((e) => new URL(e.name).pathname.startsWith('/console/')).reduce((n, e) => n + e.transferSize, 0)`,
    );
    expect(transferred).toBeGreaterThan(0);
    expect(transferred).toBeLessThan(150 * 1024);
    expect(await page.content()).not.toContain(code);
    // Back goes to where the browser was before the link (about:blank), never to a URL with the code.
    await page.goBack();
    expect(page.url()).not.toContain('signin');
    await page.goForward();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    expect(page.url()).toBe(`${g.url}/console/`);

    const secrets = await pageSecrets(page);
    expect(secrets).toEqual({ cookie: '', local: '[]', session: '[]' });
    const cookie = await sessionCookie(context);
    expect(cookie).toMatchObject({ name: 'moat_session', httpOnly: true, sameSite: 'Strict', path: '/' });
    // 256 bits, opaque: not a JWT, and not anything the page or the link ever held.
    expect(cookie!.value).not.toContain('.');
    expect(Buffer.from(cookie!.value, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(cookie!.value).not.toContain(code);
  });

  it('refuses a used link with its problem shown on the sign-in page', async () => {
    const link = await consoleLink(g);
    const first = await fresh();
    await first.page.goto(link);
    await first.page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    const second = await fresh();
    second.watch.expectRefusal('/api/v1/console/session', 403);
    second.watch.expectRefusal('/api/v1/me', 401);
    await second.page.goto(link);
    await second.page.getByRole('heading', { name: 'Sign in to Moat' }).waitFor();
    await expect.poll(() => second.page.getByRole('alert').textContent()).toContain('pairing_code_invalid');
    expect(second.page.url()).toBe(`${g.url}/console/`);
    expect(await sessionCookie(second.context)).toBeUndefined();
  });

  it('signs a second device in with the digits of a console pairing code, with only the code’s scopes', async () => {
    const minted = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'], console: true } });
    expect(minted.status).toBe(201);
    const { page, watch } = await fresh();
    watch.expectRefusal('/api/v1/me', 401);
    // The gateway's own URL sends a browser to the console.
    await page.goto(`${g.url}/`);
    await page.getByRole('heading', { name: 'Sign in to Moat' }).waitFor();
    expect(page.url()).toBe(`${g.url}/console/`);
    await page.getByRole('textbox', { name: 'Pairing code' }).fill(minted.json.code as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Overview', 'Services', 'Jobs', 'Tasks']);
    // The same digits again: used.
    const again = await g.fetch('/api/v1/console/session', { method: 'POST', auth: false, body: { code: minted.json.code } });
    expect(again.status).toBe(403);
    expect(again.json.code).toBe('pairing_code_invalid');
  });

  it('shows a code minted in the page as digits, a countdown and a QR code of its one-time link, and marks it redeemed live', async () => {
    const admin = await signedIn(browser, g);
    contexts.push(admin.context);
    watches.push(admin.watch);
    const { page } = admin;
    await page.getByRole('link', { name: 'Access' }).click();
    const minting = page.waitForResponse((r) => r.url().endsWith('/api/v1/pairing-codes') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Mint pairing code' }).click();
    const minted = (await (await minting).json()) as { code: string; id: string; signinUrl: string };

    const box = page.locator(`[data-pairing="${minted.id}"]`);
    expect(await box.locator('.digits').textContent()).toBe(minted.code);
    await expect.poll(() => box.getByRole('timer').textContent()).toMatch(/left$/);
    // The QR code is the sign-in link, module for module, and the link holds a one-time code only.
    expect(minted.signinUrl).toMatch(new RegExp(`^${g.url}/console/#signin=[A-Za-z0-9_-]{20,}$`));
    expect(minted.signinUrl).not.toContain(g.token);
    const qr = box.getByRole('img', { name: 'QR code of the one-time sign-in link' });
    const expected = encode(minted.signinUrl, { ecc: 'M', border: 4 });
    expect(await qr.getAttribute('viewBox')).toBe(`0 0 ${expected.size} ${expected.size}`);
    expect(qrMatrixOf((await qr.locator('path').getAttribute('d'))!, expected.size)).toEqual(expected.data);

    const phone = await fresh();
    await phone.page.goto(minted.signinUrl);
    await phone.page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    // The admin's page learns it from the event stream (pairing.redeemed), without a reload.
    await box.getByText('Redeemed').waitFor();
    expect(await box.getByRole('img').count()).toBe(0);
  });
});
