/**
 * The console's views in a real browser, signed in as admin through a `moat console` link: a job's
 * progress bar moving to done from the event stream without a reload, a task approved in the page and
 * found in the audit view, a token created in the page that works once and is revoked in the page,
 * and hostile values from the system shown as text. Zero CSP violations, zero console errors.
 */
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TestGateway } from '../helpers/gateway.js';
import { deliver, githubHeaders } from '../helpers/hooks.js';
import { BROWSER_TEST_MS, consoleGateway, launch, type SignedIn, signedIn } from './browser.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

let g: TestGateway;
let browser: Browser;
let admin: SignedIn;
let page: Page;
const dialogs: string[] = [];

beforeAll(async () => {
  [g, browser] = await Promise.all([consoleGateway(), launch()]);
  admin = await signedIn(browser, g);
  page = admin.page;
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

afterEach(() => {
  expect(admin.watch.violations).toEqual([]);
  expect(admin.watch.errors).toEqual([]);
  expect(dialogs).toEqual([]);
});

/** A token of its own for the test's API calls (the tasks it creates are reviewed by the session, not self-reviewed). */
async function apiToken(scopes: string[]): Promise<string> {
  const r = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `t${Math.random().toString(36).slice(2, 8)}`, scopes } });
  expect(r.status).toBe(201);
  return r.json.token as string;
}

async function go(view: string) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: view }).click();
  await page.getByRole('heading', { name: view, level: 1 }).waitFor();
}

describe('console views', { timeout: BROWSER_TEST_MS }, () => {
  it('moves a job submitted through the API from queued to a full progress bar without a reload', async () => {
    await go('Jobs');
    await page.evaluate('window.__notReloaded = true');
    // Every progress text the row shows, in order, as the page renders it.
    await page.evaluate(`window.__seen = []; new MutationObserver(() => {
      for (const el of document.querySelectorAll('table.jobs tbody tr')) {
        const t = el.dataset.state + ' ' + el.querySelector('.progress .small').textContent;
        if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
      }
    }).observe(document.querySelector('main'), { subtree: true, childList: true, characterData: true, attributes: true });`);
    const job = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 8, stepMs: 150 } } });
    expect(job.status).toBe(202);
    const row = page.locator(`tr[data-job="${job.json.id}"]`);
    await row.and(page.locator('[data-state="succeeded"]')).waitFor();
    expect(await row.locator('progress').evaluate((p) => (p as unknown as { value: number }).value)).toBe(1);
    expect(await row.locator('.progress .small').textContent()).toMatch(/^100%/);
    const seen = await page.evaluate<string[]>('window.__seen');
    // Shown before it was done (queued or part-way), then done: the bar moved on the page.
    expect(seen.some((s) => !s.startsWith('succeeded'))).toBe(true);
    expect(seen[seen.length - 1]).toMatch(/^succeeded 100%/);
    const partWay = seen.filter((s) => /^running \d+%/.test(s)).map((s) => Number(/(\d+)%/.exec(s)![1]));
    expect(partWay).toEqual([...partWay].sort((a, b) => a - b));
    expect(await page.evaluate('window.__notReloaded')).toBe(true);
  });

  it('filters the jobs table by state and by service', async () => {
    const done = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 1, stepMs: 1 } } });
    await go('Jobs');
    const row = page.locator(`tr[data-job="${done.json.id}"][data-state="succeeded"]`);
    await row.waitFor();
    await page.getByLabel('State').selectOption('failed');
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('table.jobs tbody tr[data-state]:not([data-state="failed"])').count()).toBe(0);
    await page.getByLabel('State').selectOption('succeeded');
    await page.getByLabel('Service').fill('no-such-service');
    await page.getByLabel('Service').press('Tab');
    await page.getByText('No jobs match these filters.').waitFor();
    await page.getByLabel('Service').fill('worker');
    await page.getByLabel('Service').press('Tab');
    await row.waitFor();
  });

  it('approves a task with a comment in the page and shows the approval in the audit view', async () => {
    const token = await apiToken(['tasks', 'jobs']);
    const task = await g.fetch('/api/v1/tasks', {
      method: 'POST',
      auth: token,
      body: { title: 'Rebuild the index', body: 'needs a reviewer', job: { service: 'worker', payload: { steps: 1 } } },
    });
    expect(task.status).toBe(201);
    await go('Tasks');
    const pending = page.getByRole('region', { name: 'Waiting for approval' });
    await pending.getByRole('link', { name: 'Rebuild the index' }).click();
    const detail = page.getByRole('region', { name: 'Rebuild the index' });
    await detail.getByLabel('Comment').fill('ok from the console');
    const shown = Number(/version (\d+)/.exec((await detail.textContent()) ?? '')![1]);
    const reviewing = page.waitForRequest((r) => r.url().endsWith(`/api/v1/tasks/${task.json.id}/review`));
    await detail.getByRole('button', { name: 'Approve' }).click();
    // The decision is bound to the version the page showed (the server refuses a stale one with 409).
    expect((await reviewing).postDataJSON()).toEqual({ decision: 'approve', version: shown, comment: 'ok from the console' });
    expect(shown).toBe(task.json.version);
    await detail
      .locator('.badge', { hasText: 'approved' })
      .or(detail.locator('.badge', { hasText: 'done' }))
      .first()
      .waitFor();
    const after = await g.fetch(`/api/v1/tasks/${task.json.id}`, { auth: token });
    expect(after.json.reviewedBy).not.toBeNull();
    expect(after.json.comments.map((c: { text: string }) => c.text)).toContain('ok from the console');

    await go('Audit');
    await page.getByLabel('Type').fill('task.review');
    const entry = page.locator('tr[data-type="task.review"]').first();
    await entry.waitFor();
    expect(await entry.textContent()).toContain('ok');
  });

  it('creates a token in the page whose secret works once with a real client, then revokes it in the page', async () => {
    await go('Access');
    const name = `browser-${Date.now().toString(36)}`;
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('[data-secret="token"]').textContent())!;
    expect(secret).toMatch(/^moat_/);
    expect(await page.getByRole('button', { name: `Copy the token ${name}` }).count()).toBe(1);

    const used = await request(`${g.url}/api/v1/status`, { headers: { authorization: `Bearer ${secret}` } });
    expect(used.statusCode).toBe(200);
    await used.body.dump();

    await page.getByRole('button', { name: `Revoke token ${name}` }).click();
    await page.locator(`tr[data-token="${name}"]`).waitFor({ state: 'detached' });
    // The page no longer shows the secret once it is revoked.
    expect(await page.locator('[data-secret="token"]').count()).toBe(0);
    const refused = await request(`${g.url}/api/v1/status`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.statusCode).toBe(401);
    await refused.body.dump();
  });

  it('shows a hostile job payload, task title and log line as text, never as markup', async () => {
    const token = await apiToken(['tasks', 'jobs']);
    const job = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { name: HOSTILE, steps: 1, stepMs: 1 } } });
    await g.fetch('/api/v1/tasks', { method: 'POST', auth: token, body: { title: HOSTILE, body: `<script>alert(2)</script>` } });

    await go('Jobs');
    await page.locator(`tr[data-job="${job.json.id}"] a`).click();
    const detail = page.getByRole('region', { name: /^Job / });
    await detail.locator('[data-state], .badge', { hasText: 'succeeded' }).first().waitFor();
    expect(await detail.locator('pre.json').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining(HOSTILE)]));

    await go('Tasks');
    await page.getByRole('link', { name: HOSTILE }).click();
    await page.getByRole('region', { name: HOSTILE }).locator('pre.body', { hasText: '<script>alert(2)</script>' }).waitFor();

    await go('Services');
    await page.getByRole('link', { name: 'worker' }).click();
    // The example worker logs each job's payload: the log tail shows it verbatim.
    await page.locator('pre.log', { hasText: HOSTILE }).waitFor();

    expect(await page.evaluate<number>('document.querySelectorAll("img, main script, main style").length')).toBe(0);
  });
  it('lists a hook with its recent deliveries: verified, duplicate, and refused with the reason', async () => {
    const secret = 'hook-secret-for-the-console-test';
    const hook = await g.fetch('/api/v1/hooks', { method: 'POST', body: { name: 'gh', verify: 'github', secret, action: { type: 'job', service: 'worker' } } });
    expect(hook.status).toBe(201);
    const body = JSON.stringify({ ref: 'refs/heads/main', steps: 1, stepMs: 1 });
    expect((await deliver(g, 'gh', body, githubHeaders(secret, body, 'delivery-1'))).status).toBe(202);
    expect((await deliver(g, 'gh', body, githubHeaders(secret, body, 'delivery-1'))).status).toBe(200);
    expect((await deliver(g, 'gh', body, githubHeaders('not-the-secret', body, 'delivery-2'))).status).toBe(401);

    await go('Hooks');
    const section = page.getByRole('region', { name: 'gh' });
    const rows = section.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    // Newest first: the forgery, the redelivery, the first delivery.
    const verdicts = await rows.locator('td:nth-child(2)').allTextContents();
    expect(verdicts).toEqual(['refused', 'duplicate', 'verified']);
    const why = await rows.locator('td:nth-child(3)').allTextContents();
    expect(why[0]).toBe('signature_invalid: mismatch');
    expect(why.slice(1)).toEqual(['delivery-1', 'delivery-1']);
  });

  it('shows the doctor verdict and the audit head on the overview, and verifies the chain on request', async () => {
    await go('Overview');
    await page
      .getByRole('heading', { name: /^Doctor/ })
      .locator('.badge')
      .waitFor();
    await page.getByText(/authentication failure\(s\) in the last 24 h/).waitFor();
    await page.getByText(/^Newest entry/).waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/^The chain verifies: \d+ entries/).waitFor();
  });
});
