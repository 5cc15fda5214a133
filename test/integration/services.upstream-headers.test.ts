/**
 * upstreamHeaders: a model server started with --api-key behind moat. A client holding only a moat
 * token reaches it; the key goes on proxied requests, WebSocket upgrades, health probes and job
 * dispatch; a client cannot replace it or send a second one; it is never shown, logged or audited;
 * a key file open to others, a missing source, moat's own variables and reserved names refuse the boot.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { auditText } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';

const KEY = 'sk-vllm-7f3kQ9zXw2LpR8vN4tYb6cJd-never-shown';
const ENV_KEY = 'env-key-Hq8Zr5Lm2Vx9Tb4Nc7Wd-never-shown';

/** A stand-in for `vllm serve --api-key KEY` (every route, /health too, wants the key) that records what it saw. */
interface Keyed {
  port: number;
  seen: Array<{ url: string; authorization: string | undefined; apiKeys: string | string[] | undefined }>;
  close(): void;
}
async function keyedServer(): Promise<Keyed> {
  const seen: Keyed['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization, apiKeys: req.headers['x-api-key'] });
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end('{"error":"Unauthorized"}');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'qwen', object: 'model' }] }));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push({ url: `upgrade ${req.url}`, authorization: req.headers.authorization, apiKeys: req.headers['x-api-key'] });
    if (req.headers.authorization !== `Bearer ${KEY}`) return socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d) => ws.send(`key ok: ${String(d)}`)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
}

function keyFile(content: string, mode = 0o600): string {
  const path = join(mkdtempSync(join(tmpdir(), 'moat-key-')), 'vllm.key');
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

let up: Keyed;
let g: TestGateway;
let client: string;

beforeAll(async () => {
  up = await keyedServer();
  process.env['MOAT_TEST_UNUSED'] = '';
  process.env['VLLM_TEST_KEY'] = ENV_KEY;
  g = await startGateway({
    services: [
      {
        name: 'vllm',
        kind: 'url',
        baseUrl: `http://127.0.0.1:${up.port}`,
        upstreamHeaders: { Authorization: { file: keyFile(`${KEY}\n`), prefix: 'Bearer ' }, 'X-Api-Key': { env: 'VLLM_TEST_KEY' } },
        health: { path: '/health', intervalMs: 50 },
        jobs: { path: '/v1/jobs', progressPath: '' },
      },
    ],
  });
  client = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'app', scopes: ['svc:vllm', 'jobs'] } })).json.token;
  await waitFor(() => g.gw.parts.supervisor.state('vllm') === 'healthy', 'vllm healthy (its probe carries the key)');
});
afterAll(async () => {
  await g?.stop();
  up?.close();
  delete process.env['VLLM_TEST_KEY'];
});

describe('a client reaches a keyed model server without holding its key', () => {
  it('adds the key to proxied requests', async () => {
    const res = await g.fetch('/svc/vllm/v1/models', { auth: client });
    expect(res.status).toBe(200);
    expect(res.json.data[0].id).toBe('qwen');
    const last = up.seen.filter((s) => s.url === '/v1/models').at(-1);
    expect(last).toEqual({ url: '/v1/models', authorization: `Bearer ${KEY}`, apiKeys: ENV_KEY });
  });

  it.each([
    ['its own X-Api-Key', { 'x-api-key': 'attacker' }],
    ['an X-API-KEY in capitals', { 'X-API-KEY': 'attacker' }],
    ['a Proxy-Authorization', { 'proxy-authorization': 'Bearer attacker' }],
  ])("drops %s: the service sees one key, moat's", async (_label, headers) => {
    const before = up.seen.length;
    const res = await g.fetch('/svc/vllm/v1/models', { auth: client, headers });
    expect(res.status).toBe(200);
    const seen = up.seen.slice(before).filter((s) => s.url === '/v1/models');
    expect(seen).toEqual([{ url: '/v1/models', authorization: `Bearer ${KEY}`, apiKeys: ENV_KEY }]);
  });

  it('adds the key to a WebSocket upgrade', async () => {
    const ws = new WebSocket(`${g.url.replace('http', 'ws')}/svc/vllm/v1/realtime`, { headers: { authorization: `Bearer ${client}` } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    ws.close();
    expect(reply).toBe('key ok: hi');
    expect(up.seen.find((s) => s.url === 'upgrade /v1/realtime')?.authorization).toBe(`Bearer ${KEY}`);
  });

  it('adds the key to health probes and job dispatch', async () => {
    expect(up.seen.filter((s) => s.url === '/health').every((s) => s.authorization === `Bearer ${KEY}`)).toBe(true);
    const job = (await g.fetch('/api/v1/jobs', { method: 'POST', auth: client, body: { service: 'vllm', payload: { prompt: 'hi' } } })).json;
    await waitFor(async () => (await g.fetch(`/api/v1/jobs/${job.id}`)).json.state === 'succeeded', 'job succeeded');
    expect(up.seen.find((s) => s.url === '/v1/jobs')?.authorization).toBe(`Bearer ${KEY}`);
  });

  it("never shows the key: not in the API, the config view, the audit log or moat's log", async () => {
    const shown = await g.fetch('/api/v1/services/vllm');
    expect(shown.json.upstreamHeaders).toEqual(['authorization', 'x-api-key']);
    const texts = [
      shown.text,
      (await g.fetch('/api/v1/services')).text,
      (await g.fetch('/api/v1/config')).text,
      (await g.fetch('/api/v1/audit?after=0&limit=1000')).text,
      g.logs.text,
    ];
    texts.push(auditText(g.dataDir));
    for (const t of texts) {
      expect(t).not.toContain(KEY);
      expect(t).not.toContain(ENV_KEY);
    }
  });
});

describe('refused at boot (config_invalid, exit 78)', () => {
  const svc = (upstreamHeaders: Record<string, unknown>) => ({
    services: [{ name: 'x', kind: 'url', baseUrl: 'http://127.0.0.1:9', autoStart: false, upstreamHeaders }],
  });
  it.each<[string, () => Record<string, unknown>, RegExp]>([
    ['a key file readable by others', () => ({ Authorization: { file: keyFile(KEY, 0o644) } }), /open to others \(mode 0644\); chmod 600/],
    ['a key file readable by its group', () => ({ Authorization: { file: keyFile(KEY, 0o640) } }), /open to others/],
    ['a missing key file', () => ({ Authorization: { file: '/nonexistent/moat/vllm.key' } }), /cannot read \/nonexistent\/moat\/vllm.key \(ENOENT\)/],
    ['an empty key file', () => ({ Authorization: { file: keyFile('\n') } }), /is empty/],
    ['a key file of two lines (header injection)', () => ({ Authorization: { file: keyFile('a\r\nX-Admin: yes') } }), /one line/],
    ['a directory', () => ({ Authorization: { file: tmpdir() } }), /not a regular file/],
    ['any MOAT_* variable', () => ({ Authorization: { env: 'MOAT_TEST_SURELY_UNSET_VAR' } }), /MOAT_TEST_SURELY_UNSET_VAR is moat's own setting/],
    ['an unset non-moat variable', () => ({ Authorization: { env: 'VLLM_SURELY_UNSET_VAR' } }), /VLLM_SURELY_UNSET_VAR is not set/],
    ['the admin token variable', () => ({ Authorization: { env: 'MOAT_TOKEN' } }), /MOAT_TOKEN is moat's own setting and is never sent/],
    ['both a file and a variable', () => ({ Authorization: { file: keyFile(KEY), env: 'HOME' } }), /exactly one of `file` or `env`/],
    ['neither', () => ({ Authorization: { prefix: 'Bearer ' } }), /exactly one of `file` or `env`/],
    ['Host (would leave the baseUrl)', () => ({ Host: { env: 'HOME' } }), /Host is set by moat itself/],
    ['Content-Length (request smuggling)', () => ({ 'Content-Length': { env: 'HOME' } }), /Content-Length is set by moat itself/],
    ['Transfer-Encoding', () => ({ 'transfer-encoding': { env: 'HOME' } }), /set by moat itself/],
    ["X-Forwarded-For (moat's claim)", () => ({ 'X-Forwarded-For': { env: 'HOME' } }), /set by moat itself/],
    ["a job header of moat's", () => ({ 'X-Moat-Job-Id': { env: 'HOME' } }), /set by moat itself/],
    ['a prefix with a line break', () => ({ Authorization: { env: 'HOME', prefix: 'Bearer\r\nX: ' } }), /control characters/],
  ])('refuses %s', async (_label, headers, message) => {
    await expect(startGateway(svc(headers()))).rejects.toMatchObject({ code: 'config_invalid', detail: expect.stringMatching(message) });
  });

  it('names the source in a refusal, never a value', async () => {
    const err = await startGateway(svc({ Authorization: { file: keyFile(`${KEY}\nsecond line`) } })).catch((e: { detail: string }) => e);
    expect((err as { detail: string }).detail).toMatch(/vllm\.key holds control characters or line breaks/);
    expect((err as { detail: string }).detail).not.toContain(KEY);
  });
});
