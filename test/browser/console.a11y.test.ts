/**
 * The console on a phone and a desktop, light and dark, with the keyboard alone: every control of
 * every view has an accessible name (read from Chromium's accessibility tree), no view is wider than
 * a phone's screen, the colour scheme follows prefers-color-scheme, and Tab and Enter reach every view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TestGateway } from '../helpers/gateway.js';
import { BROWSER_TEST_MS, consoleGateway, launch, signedIn, type SignedIn } from './browser.js';

const VIEWS = [
  ['', 'Overview'],
  ['services/worker', 'Services'],
  ['jobs', 'Jobs'],
  ['tasks', 'Tasks'],
  ['hooks', 'Hooks'],
  ['audit', 'Audit'],
  ['access', 'Access'],
] as const;
const CONTROLS = new Set(['button', 'link', 'textbox', 'searchbox', 'checkbox', 'combobox', 'radio', 'spinbutton', 'switch', 'menuitem', 'tab', 'slider']);

let g: TestGateway;
let browser: Browser;

beforeAll(async () => {
  [g, browser] = await Promise.all([consoleGateway(), launch()]);
  // Something in every table: a job, a task waiting for approval, a hook.
  await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 1, stepMs: 1 } } });
  const token = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'a11y', scopes: ['tasks'] } })).json.token as string;
  await g.fetch('/api/v1/tasks', { method: 'POST', auth: token, body: { title: 'Check me', job: { service: 'worker', payload: {} } } });
  await g.fetch('/api/v1/hooks', {
    method: 'POST',
    body: { name: 'gh', verify: 'github', secret: 's'.repeat(32), action: { type: 'job', service: 'worker' } },
  });
});

afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

/** Interactive nodes of the page's accessibility tree that have no name. */
async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: Array<{ ignored: boolean; role?: { value: string }; name?: { value: string } }>;
    };
    return nodes.filter((n) => !n.ignored && CONTROLS.has(n.role?.value ?? '') && !(n.name?.value ?? '').trim()).map((n) => n.role!.value);
  } finally {
    await cdp.detach();
  }
}

async function visitAll(s: SignedIn, check: (view: string) => Promise<void>) {
  for (const [path, heading] of VIEWS) {
    await s.page.goto(`${g.url}/console/${path}`);
    await s.page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await s.page
      .getByText(/^Loading/)
      .first()
      .waitFor({ state: 'detached' });
    await check(heading);
  }
}

describe('console accessibility and layout', { timeout: BROWSER_TEST_MS }, () => {
  for (const [label, viewport, colorScheme] of [
    ['a phone, dark', { width: 390, height: 844 }, 'dark'],
    ['a desktop, light', { width: 1280, height: 800 }, 'light'],
  ] as const) {
    it(`names every control and fits the screen on ${label}`, async () => {
      const s = await signedIn(browser, g, { context: { viewport, colorScheme } });
      try {
        await visitAll(s, async (view) => {
          expect(await unnamedControls(s.page), view).toEqual([]);
          // Wide tables scroll inside their own box; the page itself never scrolls sideways.
          expect(await s.page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'), view).toBe(true);
        });
        const bg = await s.page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
        expect(bg).toBe(colorScheme === 'dark' ? 'rgb(15, 20, 25)' : 'rgb(255, 255, 255)');
        expect(s.watch.violations).toEqual([]);
        expect(s.watch.errors).toEqual([]);
      } finally {
        await s.context.close();
      }
    });
  }

  it('reaches every view with Tab and Enter alone, and moves the focus to the new view', async () => {
    const s = await signedIn(browser, g);
    try {
      const page = s.page;
      for (const [, heading] of VIEWS.slice(1)) {
        // From the top of the content, back through the header to the view's link (bounded).
        for (let i = 0; i < 60; i++) {
          await page.keyboard.press('Shift+Tab');
          if ((await page.evaluate<string>('document.activeElement && document.activeElement.textContent')) === heading) break;
        }
        expect(await page.evaluate<string>('document.activeElement.textContent')).toBe(heading);
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');
      }
      // The skip link is the first stop of a page.
      await page.goto(`${g.url}/console/jobs`);
      await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
      expect(s.watch.violations).toEqual([]);
      expect(s.watch.errors).toEqual([]);
    } finally {
      await s.context.close();
    }
  });
});
