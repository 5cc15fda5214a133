/**
 * A service's HTML page in a real browser that is signed in to the console: served through
 * /svc/<name>/ on the gateway's own origin, it runs in the sandbox moat puts on every proxied
 * response, so its script has an opaque origin. It cannot read the gateway's cookies or storage,
 * and its credentialed call to the API is refused, though the browser holds an admin session.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../helpers/openai-upstream.js';
import { waitFor } from '../helpers/services.js';
import { BROWSER_TEST_MS, consoleGateway, launch, signedIn, type SignedIn } from './browser.js';

let g: TestGateway;
let browser: Browser;
let llm: OpenAIUpstream;
let admin: SignedIn;
let svcToken: string;

beforeAll(async () => {
  llm = await startOpenAIUpstream();
  [g, browser] = await Promise.all([
    consoleGateway({ services: [{ name: 'llm', kind: 'url', baseUrl: llm.url, health: { path: '/health', intervalMs: 50 } }] }),
    launch(),
  ]);
  await waitFor(() => g.gw.parts.supervisor.state('llm') === 'healthy', 'llm healthy');
  const minted = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'llm-browser', scopes: ['svc:llm'] } });
  svcToken = minted.json.token as string;
  admin = await signedIn(browser, g);
}, BROWSER_TEST_MS);

afterAll(async () => {
  await browser?.close();
  await g?.stop();
  await llm?.close();
});

describe('a service page in a signed-in browser', { timeout: BROWSER_TEST_MS }, () => {
  it('runs with an opaque origin: no gateway cookies or storage, and the API refuses its credentialed call', async () => {
    const page = await admin.context.newPage();
    // The navigation carries the service token (a browser has no other way into /svc/); nothing else does.
    await page.route('**/svc/llm/page', (route) => route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${svcToken}` } }));
    const res = await page.goto(`${g.url}/svc/llm/page`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain('sandbox');

    // A string (the test project has no DOM types), as the other browser tests do.
    const seen = await page.evaluate<{ origin: string; cookie: string; storage: string; api: string }>(`(async () => {
      const tryIt = (f) => { try { return 'ok:' + String(f()); } catch (e) { return 'threw:' + e.name; } };
      const api = await fetch('/api/v1/tokens', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'from-a-service-page', scopes: ['admin'] }) }).then((r) => 'status:' + r.status, (e) => 'failed:' + e.name);
      return { origin: self.origin, cookie: tryIt(() => document.cookie), storage: tryIt(() => localStorage.length), api };
    })()`);
    expect(seen.origin).toBe('null');
    expect(seen.cookie).toBe('threw:SecurityError');
    expect(seen.storage).toBe('threw:SecurityError');
    // Cross-origin from an opaque origin: refused at the door, so the browser sees no readable answer.
    expect(seen.api).toBe('failed:TypeError');
    const names = ((await g.fetch('/api/v1/tokens')).json.tokens as Array<{ name: string }>).map((t) => t.name);
    expect(names).not.toContain('from-a-service-page');
    await page.close();
  });
});
