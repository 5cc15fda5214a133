/**
 * The console over TLS in a real browser that trusts the gateway's self-signed certificate by its
 * SPKI hash alone (never by ignoring certificate errors): the session cookie is `__Host-` and
 * `Secure`, the page runs with zero CSP violations, and a browser without the pin does not load it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { TestGateway } from '../helpers/gateway.js';
import { BROWSER_TEST_MS, consoleGateway, launch, pageSecrets, sessionCookie, signedIn, spkiPin } from './browser.js';

let g: TestGateway;
let browser: Browser;

beforeAll(async () => {
  g = await consoleGateway({ tls: { enabled: true } });
  expect(g.url).toMatch(/^https:/);
  browser = await launch([spkiPin(g)]);
});

afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

describe('console over TLS', { timeout: BROWSER_TEST_MS }, () => {
  it('signs in with the pinned certificate and holds the session in a __Host- Secure HttpOnly Strict cookie', async () => {
    const s = await signedIn(browser, g, { via: 'cli' });
    try {
      const cookie = await sessionCookie(s.context);
      expect(cookie).toMatchObject({ name: '__Host-moat_session', secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
      // __Host-: no Domain attribute, so the cookie belongs to this host only.
      expect(cookie!.domain).toBe(new URL(g.url).hostname);
      expect(await pageSecrets(s.page)).toEqual({ cookie: '', local: '[]', session: '[]' });
      await s.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Jobs' }).click();
      await s.page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
      // The TLS posture is what the overview shows.
      await s.page.getByRole('link', { name: 'Overview' }).click();
      await s.page.getByText('Certificate fingerprint').waitFor();
      expect(s.watch.violations).toEqual([]);
      expect(s.watch.errors).toEqual([]);
    } finally {
      await s.context.close();
    }
  });

  it('does not load for a browser without the pin: the certificate is trusted by its key, not by ignoring errors', async () => {
    const unpinned = await launch();
    try {
      const page = await unpinned.newPage();
      await expect(page.goto(`${g.url}/console/`)).rejects.toThrow(/ERR_CERT/);
    } finally {
      await unpinned.close();
    }
  });
});
