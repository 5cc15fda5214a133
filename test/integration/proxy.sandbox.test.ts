/**
 * Services share the console's origin: a page a service serves through /svc/<name>/ must not run
 * script as the gateway's origin (and so call the API with the signed-in console session). Every
 * proxied response carries `Content-Security-Policy: sandbox ...` without allow-same-origin, which
 * gives such a page an opaque origin; what that page's requests then look like (Origin: null,
 * cross-site fetch metadata) is refused by the guards even with the session cookie.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, type Session } from '../helpers/console.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../helpers/openai-upstream.js';
import { waitFor } from '../helpers/services.js';

let g: TestGateway;
let llm: OpenAIUpstream;
let admin: Session;

const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';

beforeAll(async () => {
  llm = await startOpenAIUpstream();
  g = await startGateway({ services: [{ name: 'llm', kind: 'url', baseUrl: llm.url, health: { path: '/health', intervalMs: 50 } }] });
  await waitFor(() => g.gw.parts.supervisor.state('llm') === 'healthy', 'llm healthy');
  admin = await signIn(g, ['admin']);
});

afterAll(async () => {
  await g?.stop();
  await llm?.close();
});

describe('the sandbox policy on proxied responses', () => {
  it("puts an HTML page a service serves in a sandbox without allow-same-origin (an opaque origin, not the gateway's)", async () => {
    const res = await g.fetch('/svc/llm/page');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toBe(SANDBOX);
    expect(res.headers['content-security-policy']).not.toContain('allow-same-origin');
    expect(res.text).toContain('<script>');
  });

  it('sets it on every proxied response, JSON and event streams too (the type is the service’s claim)', async () => {
    expect((await g.fetch('/svc/llm/health')).headers['content-security-policy']).toBe(SANDBOX);
    expect((await g.fetch('/svc/llm/nowhere')).headers['content-security-policy']).toBe(SANDBOX);
    const stream = await request(`${g.url}/svc/llm/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
    });
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['content-security-policy']).toBe(SANDBOX);
    (await llm.nextCompletion()).release();
    await stream.body.text();
  });

  it("does not set it on the gateway's own API answers", async () => {
    expect((await g.fetch('/api/v1/me')).headers['content-security-policy']).toBeUndefined();
  });
});

describe("what the sandboxed page's requests look like to the gateway", () => {
  // A document with an opaque origin sends Origin: null and Sec-Fetch-Site: cross-site.
  it.each([
    ['a read', 'GET', '/api/v1/tokens'],
    ['a write', 'POST', '/api/v1/tokens'],
  ])('refuses %s with the session cookie and Origin: null: 403 csrf_refused', async (_label, method, path) => {
    const res = await g.fetch(path, {
      method,
      auth: false,
      headers: { cookie: admin.cookie, origin: 'null', 'sec-fetch-site': 'cross-site' },
      ...(method === 'POST' ? { body: { name: 'from-sandbox', scopes: ['admin'] } } : {}),
    });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('csrf_refused');
  });

  it('refuses a write with Origin: null even when it claims same-origin fetch metadata', async () => {
    const res = await g.fetch('/api/v1/tokens', {
      method: 'POST',
      auth: false,
      headers: { cookie: admin.cookie, origin: 'null', 'sec-fetch-site': 'same-origin' },
      body: { name: 'from-sandbox', scopes: ['admin'] },
    });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('csrf_refused');
    expect((await g.fetch('/api/v1/tokens')).json.tokens.some((t: { name: string }) => t.name === 'from-sandbox')).toBe(false);
  });
});
