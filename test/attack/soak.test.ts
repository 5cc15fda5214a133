/**
 * Soak: a real `moat serve` process (TLS, so HTTP/1.1 and HTTP/2) under the attacks of this folder
 * at once, from their own addresses, for SOAK_MS, while an admin token and a service token go about
 * their business. It shows: every admin request succeeds, memory stays bounded (RSS of the gateway
 * process sampled from /proc), and every job the gateway acknowledged (202) finishes. Bounded:
 * fixed attack rates and a fixed duration, about a minute and a half in all.
 * TODO(audit retention, item 4, another branch): also check that the security events of the soak
 * (auth.lockout, limit.*) outlive the refusal flood in the audit log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { spawnServe, type ServeProcess } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { FAST_JOBS } from '../helpers/jobs.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

const SOAK_MS = 60_000;
const SECRET = 'soak-hook-secret-0123456789';
/** The soak paces its attackers in time (a load shape over SOAK_MS): here time itself is the subject, never a wait for an event. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let p: ServeProcess | null = null;
afterAll(() => {
  p?.child.kill('SIGKILL');
});

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

describe('soak: every attack at once, with normal traffic', () => {
  it('keeps admin requests succeeding, memory bounded and every acknowledged job done', { timeout: 240_000 }, async () => {
    const dataDir = tmpDir();
    const config = join(dataDir, 'soak.json');
    writeFileSync(
      config,
      JSON.stringify({
        services: [spec(await workerService('worker', { concurrency: 4 }))],
        jobs: FAST_JOBS,
        hooks: [{ name: 'gh', verify: 'github', secret: SECRET, action: { type: 'task', title: 'push' } }],
        limits: { keepAliveTimeoutMs: 1000, bodyIdleTimeoutMs: 2000 },
        logLevel: 'error',
      }),
    );
    p = await spawnServe(['--data-dir', dataDir, '--port', '0', '--config', config, '--tls']);
    const pid = p.child.pid as number;
    const port = Number(new URL(p.url).port);
    const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
    const admin = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    const agent = (localAddress = '127.0.0.1') => new Agent({ connect: { ca, servername: 'localhost', localAddress } });
    const normal = agent();
    const call = async (path: string, token: string, init: { method?: string; body?: unknown; dispatcher?: Agent } = {}) => {
      const res = await request(`${p!.url}${path}`, {
        method: (init.method ?? 'GET') as 'GET',
        headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        dispatcher: init.dispatcher ?? normal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: text ? (JSON.parse(text) as any) : undefined };
    };
    const mint = async (name: string, scopes: string[]) =>
      (await call('/api/v1/tokens', admin, { method: 'POST', body: { name, scopes } })).json.token as string;
    const service = await mint('soak-service', ['jobs']);
    const reader = await mint('soak-reader', ['read']);
    await waitFor(async () => (await call('/api/v1/services/worker', admin)).json?.state === 'healthy', 'worker healthy', 30_000, 100);

    const end = Date.now() + SOAK_MS;
    const live = () => Date.now() < end;
    const sockets = new Set<net.Socket>();
    const loops: Array<Promise<void>> = [];
    const forever = (fn: () => Promise<void>, everyMs: number) =>
      loops.push(
        (async () => {
          while (live()) {
            await fn().catch(() => undefined);
            await sleep(everyMs);
          }
        })(),
      );
    const tlsSocket = (localAddress: string, alpn: string) =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress }), ca, servername: 'localhost', ALPNProtocols: [alpn] }, () =>
          resolve(s),
        );
        s.on('error', reject);
      });

    // 1. Pipelined health checks on connections dropped at once (127.0.0.2).
    forever(async () => {
      const s = await tlsSocket('127.0.0.2', 'http/1.1');
      s.on('error', () => undefined);
      await new Promise<void>((r) => s.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`.repeat(100), () => r()));
      s.destroy();
    }, 250);
    // 2. Slow unauthenticated hook bodies, 40 kept open (127.0.0.3); each re-opened when answered.
    const slowBody = async (): Promise<void> => {
      if (!live()) return;
      const s = await tlsSocket('127.0.0.3', 'http/1.1');
      sockets.add(s);
      s.on('error', () => undefined);
      s.write(`POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
      const drip = setInterval(() => s.writable && s.write(' '), 1000);
      s.once('close', () => {
        clearInterval(drip);
        sockets.delete(s);
        setTimeout(() => void slowBody().catch(() => undefined), 200);
      });
      s.once('data', () => s.destroy());
    };
    for (let i = 0; i < 40; i++) await slowBody().catch(() => undefined);
    // 3. A read token holding as many event streams as it can (127.0.0.4).
    const hog = agent('127.0.0.4');
    forever(async () => {
      const res = await request(`${p!.url}/api/v1/events`, { headers: { authorization: `Bearer ${reader}` }, dispatcher: hog, bodyTimeout: 0 });
      if (res.statusCode !== 200) await res.body.dump();
      else res.body.on('error', () => undefined).resume();
    }, 300);
    // 4. HTTP/2 rapid reset with padded headers and a dropped socket (127.0.0.5).
    forever(async () => {
      let socket: tls.TLSSocket | null = null;
      const session = http2.connect(`https://localhost:${port}`, {
        createConnection: () =>
          (socket = tls.connect({
            socket: net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.5' }),
            ca,
            servername: 'localhost',
            ALPNProtocols: ['h2'],
          })),
      });
      session.on('error', () => undefined);
      await new Promise((r) => session.once('connect', r));
      const pad = 'x'.repeat(4000);
      for (let i = 0; i < 500; i++) {
        try {
          const st = session.request({ ':path': '/api/v1/health', 'x-pad': pad });
          st.on('error', () => undefined);
          if (i % 2 === 0) st.close(http2.constants.NGHTTP2_CANCEL);
        } catch {
          break;
        }
      }
      // The reset streams are in flight for a moment, then the socket goes without a GOAWAY.
      await sleep(50);
      (socket as tls.TLSSocket | null)?.destroy();
    }, 2000);
    // 5. Deep JSON and pairing-code guesses (127.0.0.6).
    const guesser = agent('127.0.0.6');
    forever(async () => {
      const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      await (
        await request(`${p!.url}/api/v1/pair`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-pairing-code': '123456' },
          body: `{"name":${deep}}`,
          dispatcher: guesser,
        })
      ).body.dump();
    }, 300);

    // Normal traffic: the admin every 200 ms, the service submitting a job every second; RSS every second.
    const adminFailures: string[] = [];
    let adminOk = 0;
    forever(async () => {
      try {
        const res = await call('/api/v1/status', admin);
        if (res.status === 200) adminOk++;
        else adminFailures.push(`${res.status} ${res.json?.code}`);
      } catch (err) {
        adminFailures.push(String(err));
      }
    }, 200);
    const acknowledged: string[] = [];
    forever(async () => {
      const res = await call('/api/v1/jobs', service, { method: 'POST', body: { service: 'worker', payload: { steps: 3, stepMs: 50 } } });
      if (res.status === 202) acknowledged.push(res.json.id as string);
    }, 1000);
    const rss: number[] = [];
    forever(async () => void rss.push(rssKiB(pid)), 1000);

    await Promise.all(loops);
    for (const s of sockets) s.destroy();
    await hog.destroy();
    await guesser.destroy();

    // Every admin request succeeded, and there were many of them.
    expect(adminFailures).toEqual([]);
    expect(adminOk).toBeGreaterThan(20);
    // Every acknowledged job finishes (none lost, none stuck).
    expect(acknowledged.length).toBeGreaterThan(10);
    await waitFor(
      async () => {
        for (const id of acknowledged) if ((await call(`/api/v1/jobs/${id}`, service)).json?.state !== 'succeeded') return false;
        return true;
      },
      'every acknowledged job to succeed',
      60_000,
      500,
    );
    // Memory stays bounded: the last quarter of the run holds no more than the first quarter plus a margin.
    const quarter = Math.max(1, Math.floor(rss.length / 4));
    const early = Math.max(...rss.slice(quarter, 2 * quarter));
    const late = Math.max(...rss.slice(-quarter));
    expect(late - early, `RSS ${JSON.stringify(rss)}`).toBeLessThan(96 * 1024);
    expect(late).toBeLessThan(512 * 1024);
    // And the door is open: health answers, no slot is left behind.
    const health = await request(`${p.url}/api/v1/health`, { dispatcher: normal });
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    await waitFor(
      async () => {
        const text = await (await request(`${p!.url}/metrics`, { headers: { authorization: `Bearer ${admin}` }, dispatcher: normal })).body.text();
        return (
          /\nmoat_inflight_budget_used\{kind="requests",class="token"\} 0\n/.test(text) &&
          /\nmoat_inflight_budget_used\{kind="requests",class="unauthenticated"\} 0\n/.test(text)
        );
      },
      'the budgets to be free again',
      20_000,
      200,
    );
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    await normal.destroy();
  });
});
