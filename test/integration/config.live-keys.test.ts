/**
 * Every live key, changed through PATCH /api/v1/config, is in force on the request path at once:
 * one row per key of LIVE_KEYS, each showing the old value at work, the change, and the new value at
 * work (in both directions where a limit is raised). A live key added without a row fails here. The
 * tools row is the bug this file was written for: a raised tools.maxWriteBytes answered 200 while
 * the invoke route kept the body cap of the boot, so a 2 MiB fs.write still got 413.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_KEYS, type LiveKey } from '../../src/config/live.js';
import { gateways, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { FAST_JOBS } from '../helpers/jobs.js';
import { rawRequest } from '../helpers/raw.js';
import { spec, waitFor, workerService } from '../helpers/services.js';
import { createRun, invoke } from '../helpers/tools.js';

/** One loopback server: a service (`/health`, `/hi`) and a notification webhook, recording what it got. */
let server: http.Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(req.url ?? '');
      res.end(req.url === '/health' ? 'ok' : `hello ${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const boot = gateways('each');

const patch = async (g: TestGateway, body: unknown) => {
  const res = await g.fetch('/api/v1/config', { method: 'PATCH', body });
  expect(res.status, res.text).toBe(200);
};

const HOOK_SECRET = 'a-hook-secret-for-the-live-keys-test-1';
const deliver = (g: TestGateway, name: string) => {
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const headers = {
    'content-type': 'application/json',
    'x-hub-signature-256': `sha256=${createHmac('sha256', HOOK_SECRET).update(body).digest('hex')}`,
    'x-github-delivery': `d-${hits.length}-${Date.now()}`,
  };
  return g.fetch(`/hooks/${name}`, { method: 'POST', auth: false, raw: body, headers });
};

/** An fs.write of `bytes` bytes (base64 in the JSON body: about 4/3 of it on the wire). */
const write = (g: TestGateway, run: string, bytes: number) =>
  invoke(g, run, 'fs.write', { path: `f-${bytes}.bin`, content: Buffer.alloc(bytes, 7).toString('base64'), encoding: 'base64' });

/** A job that asks for the webhook; resolves when it has finished. */
const notifiedJob = async (g: TestGateway): Promise<string> => {
  const res = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', notify: ['webhook'], payload: { steps: 0 } } });
  expect(res.status, res.text).toBe(202);
  const id = res.json.id as string;
  await waitFor(async () => ['succeeded', 'failed'].includes((await g.fetch(`/api/v1/jobs/${id}`)).json.state), `job ${id} finished`);
  return id;
};

/** The approve link of a new task holding a job (asked for by an agent, the links minted by the admin). */
const approveLink = async (g: TestGateway): Promise<string> => {
  const agent = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `agent-${randomUUID()}`, scopes: ['tasks'] } })).json.token as string;
  const task = await g.fetch('/api/v1/tasks', { method: 'POST', auth: agent, body: { title: 'deploy', job: { service: 'echo', payload: {} } } });
  expect(task.status, task.text).toBe(201);
  const links = await g.fetch(`/api/v1/tasks/${task.json.id}/links`, { method: 'POST', body: {} });
  expect(links.status, links.text).toBe(201);
  return links.json.approve as string;
};

interface Row {
  /** Boot values the row needs. */
  values?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** The request path under the value of the boot. */
  before(g: TestGateway): Promise<void>;
  /** The live change (a merge patch). */
  change(): unknown;
  /** The request path under the new value. */
  after(g: TestGateway): Promise<void>;
}

const ROWS: Record<LiveKey, Row> = {
  services: {
    before: async (g) => expect((await g.fetch('/svc/echo/hi')).status).toBe(404),
    change: () => ({ services: [{ name: 'echo', kind: 'url', baseUrl: base, health: { intervalMs: 50 } }] }),
    after: async (g) => {
      await waitFor(async () => (await g.fetch('/api/v1/services/echo')).json?.state === 'healthy', 'echo healthy');
      expect((await g.fetch('/svc/echo/hi')).text).toBe('hello /hi');
    },
  },
  hooks: {
    before: async (g) => expect((await deliver(g, 'gh')).status).toBe(404),
    change: () => ({ hooks: [{ name: 'gh', verify: 'github', secret: HOOK_SECRET, action: { type: 'task', title: 'push' } }] }),
    after: async (g) => expect((await deliver(g, 'gh')).status).toBe(202),
  },
  triggers: {
    before: async (g) => expect((await g.fetch('/api/v1/triggers/door', { method: 'POST', body: {} })).json.code).toBe('trigger_not_found'),
    change: () => ({ triggers: [{ path: 'door', action: { type: 'task', title: 'someone at the door' } }] }),
    after: async (g) => expect((await g.fetch('/api/v1/triggers/door', { method: 'POST', body: {} })).status).toBe(202),
  },
  tools: {
    // The body cap of the invoke route follows tools.maxWriteBytes (default 1 MiB), up and down.
    before: async (g) => {
      const run = await createRun(g);
      const refused = await write(g, run, 2 * 1024 * 1024);
      expect([refused.status, refused.json?.code]).toEqual([413, 'body_too_large']);
    },
    change: () => ({ tools: { maxWriteBytes: 8 * 1024 * 1024 } }),
    after: async (g) => {
      const run = await createRun(g);
      expect((await write(g, run, 2 * 1024 * 1024)).status).toBe(200);
      await patch(g, { tools: { maxWriteBytes: 64 * 1024 } });
      const refused = await write(g, run, 1024 * 1024);
      expect([refused.status, refused.json?.code]).toEqual([413, 'body_too_large']);
      expect((await write(g, run, 32 * 1024)).status).toBe(200);
    },
  },
  egress: {
    before: async (g) =>
      expect((await g.fetch('/api/v1/egress/check', { method: 'POST', body: { url: `${base}/`, purpose: 'fetch' } })).json.allowed).toBe(false),
    change: () => ({ egress: { purposes: { fetch: { allowCidrs: ['127.0.0.1/32'] } } } }),
    after: async (g) =>
      expect((await g.fetch('/api/v1/egress/check', { method: 'POST', body: { url: `${base}/`, purpose: 'fetch' } })).json.allowed).toBe(true),
  },
  rateLimit: {
    before: async (g) => {
      for (let i = 0; i < 3; i++) expect((await g.fetch('/api/v1/status')).status).toBe(200);
    },
    // The window already counted 4 requests (3 + the PATCH): the next is over 3. And the limiter
    // now tracks 100 addresses at most, so 120 others in between make it forget this one.
    change: () => ({ rateLimit: { general: { perMinute: 3 }, maxClients: 100 } }),
    after: async (g) => {
      const refused = await g.fetch('/api/v1/status');
      expect([refused.status, refused.headers['ratelimit-limit']]).toEqual([429, '3']);
      const status = `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${g.gw.port}\r\nAuthorization: Bearer ${g.token}\r\nConnection: close\r\n\r\n`;
      for (let batch = 0; batch < 6; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => rawRequest(g.gw.port, status, '127.0.0.1', 5000, `127.0.1.${batch * 20 + i + 1}`)),
        );
        expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      }
      expect((await g.fetch('/api/v1/status')).status).toBe(200);
    },
  },
  allowedOrigins: {
    before: async (g) => expect((await g.fetch('/api/v1/status', { headers: { origin: 'https://app.example.com' } })).status).toBe(403),
    change: () => ({ allowedOrigins: ['https://app.example.com'] }),
    after: async (g) => {
      const res = await g.fetch('/api/v1/status', { headers: { origin: 'https://app.example.com' } });
      expect([res.status, res.headers['access-control-allow-origin']]).toEqual([200, 'https://app.example.com']);
    },
  },
  publicNames: {
    // The Host guard, and the base of signed action links (the first public name).
    values: () => ({ services: [{ name: 'echo', kind: 'url', baseUrl: base }] }),
    before: async (g) => {
      expect((await g.fetch('/api/v1/health', { auth: false, headers: { host: 'moat.lan' } })).status).toBe(421);
      expect((await approveLink(g)).startsWith(`${g.url}/actions/`)).toBe(true);
    },
    change: () => ({ publicNames: ['moat.lan'] }),
    after: async (g) => {
      expect((await g.fetch('/api/v1/health', { auth: false, headers: { host: 'moat.lan' } })).status).toBe(200);
      expect((await approveLink(g)).startsWith(`http://moat.lan:${g.gw.port}/actions/`)).toBe(true);
    },
  },
  notifications: {
    values: async () => ({
      services: [spec(await workerService('worker', { concurrency: 1, health: { intervalMs: 100 } }))],
      jobs: FAST_JOBS,
      egress: { purposes: { notify: { allowCidrs: ['127.0.0.1/32'] } } },
      notifications: { webhook: { url: `${base}/before` } },
    }),
    before: async (g) => {
      await notifiedJob(g);
      await waitFor(() => hits.includes('/before'), 'the webhook of the boot');
    },
    change: () => ({ notifications: { webhook: { url: `${base}/after` } } }),
    after: async (g) => {
      const count = hits.filter((h) => h === '/before').length;
      await notifiedJob(g);
      await waitFor(() => hits.includes('/after'), 'the webhook of the change');
      expect(hits.filter((h) => h === '/before').length).toBe(count);
    },
  },
  mounts: {
    before: async (g) => expect((await g.fetch('/api/v1/workspace/policy')).json.mounts).toEqual([]),
    change: () => {
      const dir = tmpDir();
      writeFileSync(join(dir, 'notes.md'), 'hello');
      return { mounts: [{ name: 'notes', path: dir, readOnly: true }] };
    },
    after: async (g) => {
      const run = await createRun(g, { workspace: { mounts: ['notes'] } });
      expect((await invoke(g, run, 'fs.read', { path: 'mount:notes/notes.md' })).json.result.content).toBe('hello');
    },
  },
};

describe('PATCH /api/v1/config of each live key', () => {
  it('has a row here for every live key', () => {
    expect(Object.keys(ROWS).sort()).toEqual([...LIVE_KEYS].sort());
  });

  it.each([...LIVE_KEYS])('%s: the new value is in force on the next request', async (key) => {
    const row = ROWS[key];
    expect(row, `no row for the live key ${key}`).toBeDefined();
    const g = await boot({ ...(await row.values?.()) });
    await row.before(g);
    await patch(g, row.change());
    await row.after(g);
  });
});
