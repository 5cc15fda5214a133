/** Test helpers: real gateways on port 0 in temp data dirs, and clients that trust their certificate. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { afterAll, afterEach } from 'vitest';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';
import { TEST_KEY_FILE } from './keys.js';

export { TEST_ANCHOR_FILE, TEST_KEY_FILE } from './keys.js';

export function tmpDir(prefix = 'moat-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Collects JSON log lines written by a gateway. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  entries(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestGateway {
  gw: Gateway;
  url: string;
  token: string;
  dataDir: string;
  logs: LogCapture;
  /** GET/POST/... through a client that trusts this gateway's certificate. */
  fetch(path: string, init?: FetchInit): Promise<TestResponse>;
  stop(): Promise<void>;
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** false: send no Authorization header. A string: send that token. Default: the admin token. */
  auth?: boolean | string;
  raw?: string | Buffer;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export async function startGateway(values: Record<string, unknown> = {}, extra: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const dataDir = (values['dataDir'] as string | undefined) ?? tmpDir();
  const logs = new LogCapture();
  // The audit chain key of this test file, never /etc/moat (unless the test names its own).
  const audit = { keyFile: TEST_KEY_FILE, ...(values['audit'] as Record<string, unknown> | undefined) };
  const gw = createGateway({ values: { port: 0, logLevel: 'info', ...values, dataDir, audit }, logDestination: logs, ...extra });
  await gw.start();
  const dispatcher = agentFor(gw);
  let stopped: Promise<void> | null = null;
  const t: TestGateway = {
    gw,
    url: gw.url,
    token: gw.token,
    dataDir,
    logs,
    fetch: (path, init = {}) => send(dispatcher, gw.url, gw.token, path, init),
    stop: () =>
      (stopped ??= (async () => {
        await gw.stop();
        await dispatcher.close();
      })()),
  };
  return t;
}

/**
 * Gateways for one test file (or describe block): call it at the top, start gateways with the
 * function it returns, and every one started is stopped after each test (`'each'`, the default) or
 * after the last (`'all'`), the last started first. Stopping one earlier (a restart) is fine: stop()
 * is idempotent.
 */
export function gateways(when: 'each' | 'all' = 'each'): (values?: Record<string, unknown>, extra?: Partial<GatewayOptions>) => Promise<TestGateway> {
  const running: TestGateway[] = [];
  (when === 'each' ? afterEach : afterAll)(async () => {
    for (const g of running.splice(0).reverse()) await g.stop();
  });
  return async (values = {}, extra = {}) => {
    const g = await startGateway(values, extra);
    running.push(g);
    return g;
  };
}

export function agentFor(gw: Gateway): Agent {
  if (!gw.tlsFingerprint) return new Agent();
  const ca = readFileSync(gw.config.tls.cert ?? join(gw.dataDir, 'tls', 'cert.pem'), 'utf8');
  return new Agent({ connect: { ca, servername: 'localhost' } });
}

export async function send(dispatcher: Dispatcher, base: string, token: string, path: string, init: FetchInit = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.auth !== false) headers['authorization'] ??= `Bearer ${typeof init.auth === 'string' ? init.auth : token}`;
  let body: string | Buffer | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${base}${path}`, { method: (init.method ?? 'GET') as Dispatcher.HttpMethod, headers, body, dispatcher });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
