/**
 * GET /metrics from outside: the text parses strictly as Prometheus 0.0.4, counters move with real
 * traffic (requests, refusals, lockouts, rate limits, egress, tools, jobs, services, streams), label
 * values stay bounded whatever the paths, scope metrics is enforced, and metrics.public opens it on
 * loopback only (elsewhere the boot is refused with exit 78).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { send, startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { expectGolden } from '../helpers/golden.js';
import { freePort, lanAddress } from '../helpers/net.js';
import { labelValues, parsePrometheus, sampleValue, type Family } from '../helpers/prom.js';
import { spec, waitFor, workerService } from '../helpers/services.js';
import { createRun, invoke, tokenWith } from '../helpers/tools.js';

async function scrape(g: TestGateway, auth?: string | false): Promise<Map<string, Family>> {
  const res = await g.fetch('/metrics', auth === undefined ? {} : { auth });
  expect(res.status, res.text).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(res.text);
}

const requests = (m: Map<string, Family>, route: string, method: string, status: string) =>
  sampleValue(m, 'moat_http_requests_total', { route, method, status }) ?? 0;

describe('one gateway with traffic', () => {
  let g: TestGateway;
  beforeAll(async () => {
    const worker = await workerService('worker');
    g = await startGateway({ rateLimit: { enabled: false }, lockout: { after: 2, baseMs: 600_000, maxMs: 600_000 }, services: [spec(worker)] });
    await waitFor(async () => (await g.fetch('/api/v1/services/worker')).json?.state === 'healthy', 'worker healthy');
  });
  afterAll(() => g.stop());

  it('parses strictly and holds the families of every part', async () => {
    const m = await scrape(g);
    for (const name of [
      'moat_info',
      'moat_http_requests_total',
      'moat_http_request_duration_seconds',
      'moat_http_requests_in_flight',
      'moat_event_streams_open',
      'moat_http_problems_total',
      'moat_auth_failures_total',
      'moat_lockouts_total',
      'moat_rate_limited_total',
      'moat_egress_refusals_total',
      'moat_tool_denials_total',
      'moat_jobs',
      'moat_job_queue_depth',
      'moat_service_state',
      'moat_service_restarts_total',
      'moat_audit_backlog',
      'moat_audit_dropped_total',
      'moat_doctor_verdict',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(m.has(name), name).toBe(true);
    }
    expect(m.get('moat_http_request_duration_seconds')?.type).toBe('histogram');
    expect(m.get('moat_http_requests_total')?.type).toBe('counter');
    expect(sampleValue(m, 'moat_info', { version: g.gw.version, bind_class: 'loopback', tls: 'false', auth: 'true' })).toBe(1);
  });

  it('counts requests by route pattern, method and status class, with their latency', async () => {
    const before = await scrape(g);
    for (let i = 0; i < 3; i++) expect((await g.fetch('/api/v1/status')).status).toBe(200);
    expect((await g.fetch('/api/v1/tokens/no-such-token', { method: 'DELETE' })).status).toBe(404);
    expect((await g.fetch('/no/such/path')).status).toBe(404);
    const after = await scrape(g);
    expect(requests(after, '/api/v1/status', 'GET', '2xx') - requests(before, '/api/v1/status', 'GET', '2xx')).toBe(3);
    expect(requests(after, '/api/v1/tokens/:id', 'DELETE', '4xx') - requests(before, '/api/v1/tokens/:id', 'DELETE', '4xx')).toBe(1);
    expect(requests(after, '(unmatched)', 'GET', '4xx') - requests(before, '(unmatched)', 'GET', '4xx')).toBe(1);
    const count = (m: Map<string, Family>) => sampleValue(m, 'moat_http_request_duration_seconds_count', { route: '/api/v1/status', method: 'GET' }) ?? 0;
    expect(count(after) - count(before)).toBe(3);
    expect(sampleValue(after, 'moat_http_request_duration_seconds_sum', { route: '/api/v1/status', method: 'GET' })).toBeGreaterThan(0);
  });

  it('counts authentication failures by reason, and the lockout they cause', async () => {
    const before = await scrape(g);
    const attacker = new Agent({ localAddress: '127.0.0.2' });
    try {
      await send(attacker, g.url, '', '/api/v1/status', { auth: false });
      await send(attacker, g.url, `moat_${'x'.repeat(43)}`, '/api/v1/status');
      await send(attacker, g.url, `moat_${'y'.repeat(43)}`, '/api/v1/status'); // the second: locked out
      expect((await send(attacker, g.url, g.token, '/api/v1/status')).status).toBe(429);
    } finally {
      await attacker.close();
    }
    const after = await scrape(g);
    const delta = (name: string, labels: Record<string, string> = {}) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    expect(delta('moat_auth_failures_total', { reason: 'auth_required' })).toBe(1);
    expect(delta('moat_auth_failures_total', { reason: 'token_invalid' })).toBe(2);
    expect(delta('moat_lockouts_total')).toBe(1);
    expect(delta('moat_http_problems_total', { code: 'locked_out' })).toBe(1);
  });

  it('counts egress refusals by purpose and reason, and tool denials by tool', async () => {
    const run = await createRun(g);
    expect((await invoke(g, run, 'http.fetch', { url: 'http://127.0.0.1:9/' })).json.code).toBe('egress_denied');
    expect((await invoke(g, run, 'http.fetch', { url: 'http://169.254.169.254/latest/meta-data/' })).json.code).toBe('egress_denied');
    expect((await invoke(g, run, 'exec', { argv: ['true'] })).json.code).toBe('tool_denied');
    const m = await scrape(g);
    expect(sampleValue(m, 'moat_egress_refusals_total', { purpose: 'fetch', reason: 'loopback' })).toBe(1);
    expect(sampleValue(m, 'moat_egress_refusals_total', { purpose: 'fetch', reason: 'metadata' })).toBe(1);
    expect(sampleValue(m, 'moat_tool_denials_total', { tool: 'exec' })).toBe(1);
  });

  it('shows jobs by state, queue depth and service state', async () => {
    const submitted = await g.fetch('/api/v1/jobs', { method: 'POST', body: { service: 'worker', payload: { steps: 1, stepMs: 1 } } });
    expect(submitted.status).toBe(202);
    await waitFor(async () => (await g.fetch(`/api/v1/jobs/${submitted.json.id}`)).json.state === 'succeeded', 'the job');
    const m = await scrape(g);
    expect(sampleValue(m, 'moat_jobs', { service: 'worker', state: 'succeeded' })).toBe(1);
    expect(sampleValue(m, 'moat_job_queue_depth', { service: 'worker' })).toBe(0);
    expect(sampleValue(m, 'moat_service_state', { service: 'worker', state: 'healthy' })).toBe(1);
    expect(sampleValue(m, 'moat_service_state', { service: 'worker', state: 'crashed' })).toBe(0);
    expect(sampleValue(m, 'moat_service_restarts_total', { service: 'worker' })).toBe(0);
  });

  it('shows open event streams while they are open', async () => {
    const controller = new AbortController();
    const res = await request(`${g.url}/api/v1/events`, { headers: { authorization: `Bearer ${g.token}` }, signal: controller.signal });
    expect(res.statusCode).toBe(200);
    expect(sampleValue(await scrape(g), 'moat_event_streams_open')).toBe(1);
    controller.abort();
    await res.body.dump().catch(() => undefined);
    await waitFor(async () => sampleValue(await scrape(g), 'moat_event_streams_open') === 0, 'the stream to close');
  });

  it('shows the audit backlog and the verdict of the last heartbeat', async () => {
    await waitFor(async () => sampleValue(await scrape(g), 'moat_doctor_verdict') !== undefined, 'a heartbeat');
    const m = await scrape(g);
    expect(sampleValue(m, 'moat_audit_backlog')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'moat_audit_dropped_total')).toBe(0);
    expect([0, 1, 2]).toContain(sampleValue(m, 'moat_doctor_verdict'));
  });

  it('keeps label values bounded: a thousand random paths and odd methods add no route or method', async () => {
    const routes = new Set([...g.gw.parts.routes.map((r) => r.url), '(unmatched)']);
    const before = await scrape(g);
    for (let i = 0; i < 1000; i++) {
      const path = `/${randomBytes(6).toString('hex')}/${randomBytes(4).toString('base64url')}?q=${i}`;
      expect((await g.fetch(path, { method: i % 100 === 0 ? 'PROPFIND' : 'GET' })).status).toBe(404);
    }
    const after = await scrape(g);
    for (const value of labelValues(after, 'moat_http_requests_total', 'route')) expect(routes.has(value), value).toBe(true);
    expect(
      [...labelValues(after, 'moat_http_requests_total', 'method')].every((m) =>
        ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'].includes(m),
      ),
    ).toBe(true);
    const unmatched = (m: Map<string, Family>) => requests(m, '(unmatched)', 'GET', '4xx') + requests(m, '(unmatched)', 'OTHER', '4xx');
    expect(unmatched(after) - unmatched(before)).toBe(1000);
    const series = (m: Map<string, Family>) => m.get('moat_http_requests_total')?.samples.length ?? 0;
    expect(series(after) - series(before)).toBeLessThanOrEqual(1); // at most the new (unmatched) OTHER series
  });
});

describe('over TLS', () => {
  it('counts HTTP/2 requests like HTTP/1.1 ones', async () => {
    const g = await startGateway({ tls: { enabled: true } });
    try {
      const ca = readFileSync(join(g.dataDir, 'tls', 'cert.pem'), 'utf8');
      const session = http2.connect(g.url, { ca, servername: 'localhost' });
      try {
        for (let i = 0; i < 2; i++) {
          const status = await new Promise<number>((resolve, reject) => {
            const stream = session.request({ ':path': '/api/v1/status', authorization: `Bearer ${g.token}` });
            stream.on('response', (h) => resolve(Number(h[':status'])));
            stream.on('error', reject);
            stream.resume();
          });
          expect(status).toBe(200);
        }
      } finally {
        session.close();
      }
      await waitFor(async () => requests(await scrape(g), '/api/v1/status', 'GET', '2xx') === 2, 'both HTTP/2 requests counted');
    } finally {
      await g.stop();
    }
  });
});

describe('rate-limit refusals by class', () => {
  it('counts the refusals of the class that refused', async () => {
    const g = await startGateway({ rateLimit: { general: { perMinute: 3 } } });
    try {
      const flood = new Agent({ localAddress: '127.0.0.2' });
      try {
        for (let i = 0; i < 5; i++) await send(flood, g.url, g.token, '/api/v1/status');
      } finally {
        await flood.close();
      }
      const m = await scrape(g);
      expect(sampleValue(m, 'moat_rate_limited_total', { class: 'general' })).toBe(2);
      expect(sampleValue(m, 'moat_http_problems_total', { code: 'rate_limited' })).toBe(2);
    } finally {
      await g.stop();
    }
  });
});

describe('who may read /metrics', () => {
  let g: TestGateway | undefined;
  afterEach(async () => {
    await g?.stop();
    g = undefined;
  });

  it('needs scope metrics (or admin): read is refused, no token is refused', async () => {
    g = await startGateway();
    expect(g.gw.parts.routes.find((r) => r.url === '/metrics')).toMatchObject({ auth: 'bearer', scope: 'metrics' });
    const metrics = await tokenWith(g, 'scraper', ['metrics']);
    const read = await tokenWith(g, 'reader', ['read']);
    expect((await g.fetch('/metrics', { auth: metrics })).status).toBe(200);
    expect((await g.fetch('/metrics', { auth: read })).json.code).toBe('scope_required');
    expect((await g.fetch('/metrics', { auth: false })).json.code).toBe('auth_required');
  });

  it('answers without a token on loopback when metrics.public is set, still behind the Host guard', async () => {
    g = await startGateway({ metrics: { public: true } });
    expect(g.gw.parts.routes.find((r) => r.url === '/metrics')).toMatchObject({ auth: 'none' });
    await scrape(g, false);
    expect((await g.fetch('/metrics', { auth: false, headers: { host: 'evil.example' } })).status).toBe(421);
    // Only /metrics: everything else still needs a token.
    expect((await g.fetch('/api/v1/status', { auth: false })).status).toBe(401);
  });

  it('warns at boot that metrics.public is on', async () => {
    g = await startGateway({ metrics: { public: true } });
    expect(g.logs.text).toContain('metrics.public is on: any local process may read GET /metrics without a token');
  });

  it('refuses to boot with metrics.public on a LAN address (exit 78, one line, no socket)', async () => {
    const lan = lanAddress();
    const port = await freePort();
    const res = await runCli(['serve', '--data-dir', tmpDir(), '--host', lan, '--port', String(port), '--metrics-public']);
    expect(res.code).toBe(78);
    expectGolden('boot/metrics-public-lan.txt', `${res.stderr.trim().replaceAll(lan, '<lan>')}\n`);
    const env = await runCli(['serve', '--data-dir', tmpDir(), '--port', String(port)], { MOAT_HOST: '0.0.0.0', MOAT_EXPOSE: '1', MOAT_METRICS_PUBLIC: '1' });
    expect(env.code).toBe(78);
    expect(env.stderr).toContain('metrics.public (GET /metrics without a token) is for loopback only');
  });
});
