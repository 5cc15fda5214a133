/**
 * Ending a console session in a real browser: sign-out, revocation from another session, and a
 * rotation of the admin token each return the open page to sign-in through the event stream's `end`
 * (the page says why; it does not wait for its next request), and the cookie opens nothing after.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TestGateway } from '../helpers/gateway.js';
import { BROWSER_TEST_MS, consoleGateway, launch, sessionCookie, type SignedIn, signedIn } from './browser.js';

let g: TestGateway;
let browser: Browser;
const sessions: SignedIn[] = [];

beforeAll(async () => {
  [g, browser] = await Promise.all([consoleGateway(), launch()]);
});

afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

afterEach(async () => {
  for (const s of sessions.splice(0)) {
    expect(s.watch.violations).toEqual([]);
    expect(s.watch.errors).toEqual([]);
    await s.context.close();
  }
});

async function session(via: 'cli' | 'api' = 'api'): Promise<SignedIn> {
  const s = await signedIn(browser, g, { via });
  sessions.push(s);
  return s;
}

/** The message the page shows when the event stream said `end`, as opposed to a later 401. */
async function endedByStream(page: Page): Promise<string> {
  await page.getByRole('heading', { name: 'Sign in to Moat' }).waitFor();
  return (await page.getByRole('status').first().textContent()) ?? '';
}

/** A request from the page with its (former) cookie, as the page itself would send it. */
async function statusFromPage(page: Page): Promise<number> {
  return page.evaluate<number>(`fetch('/api/v1/status', { credentials: 'same-origin' }).then((r) => r.status)`);
}

describe('console session end', { timeout: BROWSER_TEST_MS }, () => {
  it('signs out: the session is deleted server-side and the cookie is cleared', async () => {
    const s = await session();
    const cookie = (await sessionCookie(s.context))!;
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.getByRole('heading', { name: 'Sign in to Moat' }).waitFor();
    expect(await s.page.getByText('Signed out.').count()).toBe(1);
    expect(await sessionCookie(s.context)).toBeUndefined();
    // The old value, replayed by anyone who copied it, opens nothing: it was deleted, not just forgotten.
    await s.context.addCookies([{ ...cookie }]);
    s.watch.expectRefusal('/api/v1/status', 401);
    expect(await statusFromPage(s.page)).toBe(401);
  });

  it('ends an open page when another session revokes it', async () => {
    const victim = await session();
    await victim.page.getByRole('link', { name: 'Jobs' }).click();
    await victim.page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const other = await session();
    await other.page.getByRole('link', { name: 'Access' }).click();
    const victimId = await victim.page.evaluate<string>(`fetch('/api/v1/me', { credentials: 'same-origin' }).then((r) => r.json()).then((me) => me.id)`);
    const row = other.page.getByRole('region', { name: 'Console sessions' }).locator(`tr[data-session="${victimId}"]`);
    await row.getByRole('button', { name: /^Revoke session/ }).click();
    await row.waitFor({ state: 'detached' });

    expect(await endedByStream(victim.page)).toMatch(/^Your session ended: /);
    victim.watch.expectRefusal('/api/v1/status', 401);
    expect(await statusFromPage(victim.page)).toBe(401);
    // The revoking page is still signed in.
    expect(await other.page.getByRole('heading', { name: 'Access', level: 1 }).count()).toBe(1);
    expect(await statusFromPage(other.page)).toBe(200);
  });

  it('ends an open page when the admin token is rotated', async () => {
    const s = await session();
    const rotated = await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(await endedByStream(s.page)).toMatch(/^Your session ended: /);
    s.watch.expectRefusal('/api/v1/status', 401);
    expect(await statusFromPage(s.page)).toBe(401);
    // The new admin token (moat console reads it from the data dir) signs a new page in.
    expect(readFileSync(join(g.dataDir, 'gateway-token'), 'utf8').trim()).not.toBe(g.token);
    const again = await session('cli');
    expect(await statusFromPage(again.page)).toBe(200);
  });
});
