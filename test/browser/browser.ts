/**
 * Browser-test plumbing: Debian's chromium driven by playwright-core (never a downloaded browser), a
 * real gateway with the example worker, sign-in through the real `moat console` link, and a watch on
 * every page for CSP violations, script errors and console errors. Helpers only; no assertions of
 * behaviour live here.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { spec, workerService } from '../helpers/services.js';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CONSOLE_DIR = join(ROOT, 'dist', 'console');

/** The flags of the brief: no sandbox (containers), headless, nothing that phones home. */
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs] });
}

/** Builds the console bundle when this checkout has none yet (`npm test` builds it first anyway). */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(CONSOLE_DIR, 'index.html'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-console.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/build-console.mjs failed');
}

/**
 * A gateway with the example worker (fast probes), serving the built console. Every sign-in is in
 * the `pair` rate class (10 a minute per client by default), and the browser and the test share
 * 127.0.0.1: a test file signing in a dozen times gets a higher limit.
 */
export async function consoleGateway(values: Record<string, unknown> = {}): Promise<TestGateway> {
  ensureConsoleBuilt();
  const worker = await workerService('worker');
  return startGateway({ services: [spec(worker)], rateLimit: { pair: { perMinute: 1000 } }, ...values });
}

/** `--ignore-certificate-errors-spki-list=<base64 SHA-256 of the SPKI>`: pins this gateway's own certificate, and only it. */
export function spkiPin(g: TestGateway): string {
  const pem = readFileSync(g.gw.config.tls.cert ?? join(g.dataDir, 'tls', 'cert.pem'), 'utf8');
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`;
}

/** Runs the real `moat console` (dist/main.js) against this gateway and returns the sign-in link it printed. */
export async function consoleLink(g: TestGateway, args: string[] = []): Promise<string> {
  const r = await runCli(['console', ...args, '--data-dir', g.dataDir], {}, 30_000);
  if (r.code !== 0) throw new Error(`moat console exited ${r.code}: ${r.stdout}\n${r.stderr}`);
  const m = /(https?:\/\/\S+\/console\/#signin=\S+)/.exec(r.stdout);
  if (!m) throw new Error(`no sign-in link in the output of moat console: ${r.stdout}`);
  return m[1] as string;
}

export interface Refusal {
  /** Path (and query) of the request the page is expected to see refused. */
  path: string;
  status: number;
}

/**
 * Everything a page reports that would mean a defect: CSP violations (the page's own
 * `securitypolicyviolation` events, collected from before its first script), uncaught errors,
 * console errors. A failed request shows as a console error too ("Failed to load resource"): it is
 * accepted only when the test declared that refusal with `expectRefusal` first.
 */
export class PageWatch {
  readonly violations: string[] = [];
  readonly errors: string[] = [];
  readonly refused: Array<{ path: string; status: number }> = [];
  private readonly expected: Refusal[] = [];

  /**
   * Watches every page of `context` served from `origin` (the gateway's pages; an attacker's page in
   * the same browser is allowed its own errors, such as the refused iframe).
   */
  static async attach(context: BrowserContext, origin: string): Promise<PageWatch> {
    const w = new PageWatch(origin);
    await context.exposeBinding('__moatTestCsp', (src, v: string) => {
      if (w.ours(src.frame.url())) w.violations.push(v);
    });
    await context.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) => globalThis.__moatTestCsp(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')), true);`,
    });
    context.on('page', (p) => w.watch(p));
    for (const p of context.pages()) w.watch(p);
    return w;
  }

  private constructor(readonly origin: string) {}

  private ours(url: string): boolean {
    try {
      return new URL(url).origin === this.origin;
    } catch {
      return false;
    }
  }

  expectRefusal(path: string, status: number): void {
    this.expected.push({ path, status });
  }

  private watch(page: Page): void {
    page.on('pageerror', (e) => {
      if (this.ours(page.url())) this.errors.push(`pageerror: ${e.message}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && this.ours(r.url())) {
        const u = new URL(r.url());
        this.refused.push({ path: u.pathname + u.search, status: r.status() });
      }
    });
    page.on('console', (m) => {
      if (m.type() !== 'error' || !this.ours(page.url())) return;
      const text = m.text();
      if (/Content Security Policy|Trusted Type/i.test(text)) this.violations.push(`console: ${text}`);
      const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
      if (failed) {
        const u = new URL(m.location().url);
        const status = Number(failed[1]);
        if (this.expected.some((e) => e.status === status && (u.pathname + u.search).startsWith(e.path))) return;
        this.errors.push(`unexpected ${status} for ${u.pathname + u.search}`);
        return;
      }
      this.errors.push(`console.error: ${text}`);
    });
  }
}

/** What the page's own scripts can read of secrets: cookies, and both storages, as text. */
export async function pageSecrets(page: Page): Promise<{ cookie: string; local: string; session: string }> {
  return page.evaluate<{ cookie: string; local: string; session: string }>(
    `({ cookie: document.cookie, local: JSON.stringify(Object.entries(localStorage)), session: JSON.stringify(Object.entries(sessionStorage)) })`,
  );
}

/** The browser context's session cookie (visible to the test through the browser, never to the page). */
export async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => /^(__Host-)?moat_session$/.test(c.name));
}

export interface SignedIn {
  context: BrowserContext;
  page: Page;
  watch: PageWatch;
}

export interface SignInOptions {
  /** Scopes of the session (default: admin, as `moat console` gives). */
  scopes?: string[];
  /**
   * Where the one-time link comes from: the real `moat console` CLI (a child process), or the same
   * mint through the API (`POST /api/v1/pairing-codes` with `console: true`, what the CLI calls), which
   * is quicker for tests whose subject is not the CLI. Default: api.
   */
  via?: 'cli' | 'api';
  context?: Parameters<Browser['newContext']>[0];
}

/** The one-time sign-in link of a console code, minted through the API with the admin token. */
export async function mintedLink(g: TestGateway, scopes: string[]): Promise<string> {
  const r = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes, console: true } });
  if (r.status !== 201) throw new Error(`minting a console code answered ${r.status}: ${r.text}`);
  return r.json.signinUrl as string;
}

/** A fresh browser profile, signed in by opening a one-time sign-in link, on its start page (the Overview when it holds `read`). */
export async function signedIn(browser: Browser, g: TestGateway, opts: SignInOptions = {}): Promise<SignedIn> {
  const scopes = opts.scopes ?? ['admin'];
  const link =
    opts.via === 'cli'
      ? await consoleLink(
          g,
          scopes.flatMap((s) => ['--scope', s]),
        )
      : await mintedLink(g, scopes);
  const context = await browser.newContext(opts.context ?? {});
  const watch = await PageWatch.attach(context, new URL(g.url).origin);
  const page = await context.newPage();
  await page.goto(link);
  const heading = page.getByRole('main').getByRole('heading', { level: 1 });
  await heading.waitFor();
  const title = await heading.textContent();
  if (title === 'Sign in to Moat') throw new Error(`the console link did not sign in: ${await page.getByRole('main').textContent()}`);
  return { context, page, watch };
}

/** Reads a QR code drawn by the console (one SVG path of unit-high runs) back into its module matrix. */
export function qrMatrixOf(d: string, size: number): boolean[][] {
  const m = Array.from({ length: size }, () => Array.from({ length: size }, () => false));
  for (const [, x, y, w] of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    for (let i = 0; i < Number(w); i++) m[Number(y)]![Number(x) + i] = true;
  }
  return m;
}

/**
 * A test's bound in a browser file: a browser test starts pages, a CLI child and a worker on a
 * machine shared by other suites; it waits on events, never on time, and this bounds the wait.
 */
export const BROWSER_TEST_MS = 90_000;
