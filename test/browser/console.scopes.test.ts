/**
 * What a session's scopes show in a real browser: a `read` session sees every view it may read and
 * no action button, and a request forged from its own page is refused (403 scope_required); a
 * refusal of an action the page does offer shows the problem's detail.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TestGateway } from '../helpers/gateway.js';
import { BROWSER_TEST_MS, consoleGateway, launch, signedIn, type SignedIn } from './browser.js';

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

async function session(scopes: string[]): Promise<SignedIn> {
  const s = await signedIn(browser, g, { scopes, via: 'cli' });
  sessions.push(s);
  return s;
}

async function open(page: Page, path: string, heading: string) {
  await page.goto(`${g.url}/console/${path}`);
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** Forges a write from the page itself, with the page's own cookie, as a script on it could. */
function forge(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; code: string }> {
  return page.evaluate<{ status: number; code: string }, { method: string; path: string; body: string | null }>(
    async ({ method, path, body }) => {
      const f = (globalThis as unknown as { fetch: typeof fetch }).fetch;
      const r = await f(path, { method, credentials: 'same-origin', headers: body === null ? {} : { 'content-type': 'application/json' }, body });
      return { status: r.status, code: ((await r.json()) as { code: string }).code };
    },
    { method, path, body: body === undefined ? null : JSON.stringify(body) },
  );
}

describe('console scopes', { timeout: BROWSER_TEST_MS }, () => {
  it('shows a read session every view it may read and no action button, and refuses the actions forged from its page with 403 scope_required', async () => {
    const job = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 1, stepMs: 1 } } });
    const token = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'task-maker', scopes: ['tasks'] } })).json.token as string;
    const task = await g.fetch('/api/v1/tasks', { method: 'POST', auth: token, body: { title: 'Read-only look', job: { service: 'worker', payload: {} } } });
    expect(task.json.state).toBe('pending_approval');

    const { page, watch } = await session(['read']);
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Overview', 'Services', 'Jobs', 'Tasks']);
    expect(await page.getByRole('main').getByRole('button').count()).toBe(0);

    await open(page, 'services', 'Services');
    await page.getByRole('link', { name: 'worker' }).waitFor();
    await open(page, `jobs/${job.json.id}`, 'Jobs');
    await page.getByRole('region', { name: /^Job / }).locator('dl').waitFor();
    await open(page, `tasks/${task.json.id}`, 'Tasks');
    await page.getByRole('region', { name: 'Read-only look' }).getByText('pending_approval').first().waitFor();
    // Nothing to press anywhere: no start/stop, no cancel, no approve/reject, no comment box.
    expect(await page.getByRole('main').getByRole('button').count()).toBe(0);
    expect(await page.getByRole('main').getByRole('textbox').count()).toBe(0);
    // Admin views are not offered, and are not there when typed in.
    await page.goto(`${g.url}/console/access`);
    await page.getByRole('heading', { name: 'Not found', level: 1 }).waitFor();

    const forged: Array<[string, string, unknown?]> = [
      ['POST', '/api/v1/services/worker/stop'],
      ['POST', `/api/v1/jobs/${job.json.id}/cancel`],
      ['POST', `/api/v1/tasks/${task.json.id}/review`, { decision: 'approve' }],
      ['POST', '/api/v1/tokens', { name: 'escalate', scopes: ['admin'] }],
      ['POST', '/api/v1/pairing-codes', { scopes: ['read'], console: true }],
      ['DELETE', `/api/v1/tasks/${task.json.id}`],
    ];
    for (const [method, path, body] of forged) {
      watch.expectRefusal(path, 403);
      expect(await forge(page, method, path, body), `${method} ${path}`).toEqual({ status: 403, code: 'scope_required' });
    }
    expect((await g.fetch(`/api/v1/tasks/${task.json.id}`)).json.state).toBe('pending_approval');
    expect((await g.fetch('/api/v1/services/worker')).json.state).not.toBe('stopped');
  });

  it("shows the server's problem detail when it refuses an action the page offers", async () => {
    // A jobs session sees the cancel button on another principal's job; the server refuses: not its job.
    const other = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'someone-else', scopes: ['jobs'] } })).json.token as string;
    const job = await g.fetch('/api/v1/jobs', { method: 'POST', auth: other, body: { service: 'worker', payload: { steps: 200, stepMs: 100 } } });
    const { page, watch } = await session(['jobs']);
    // Without `read` there is no overview: the console starts on the first page the session may see.
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Jobs');
    expect(await page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents()).toEqual(['Jobs']);
    await open(page, `jobs/${job.json.id}`, 'Jobs');
    watch.expectRefusal(`/api/v1/jobs/${job.json.id}/cancel`, 403);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    const alert = page.getByRole('region', { name: /^Job / }).getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('not_owner');
    const direct = await g.fetch(`/api/v1/jobs/${job.json.id}/cancel`, { method: 'POST', auth: other });
    expect(direct.status).toBe(200);
  });
});
