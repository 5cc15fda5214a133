/**
 * What carries Moat's authority across the proxy (HABITS 23), both ways, on a real TLS gateway:
 * a client's X-Moat-* headers (which services believe come from Moat's job dispatcher) never reach
 * a service, and a service never speaks for the origin it shares with the API: the gateway's
 * security headers win and its cookies stay under /svc/<name>.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { spec, waitFor, workerService } from '../helpers/services.js';

let up: Recorder;
/** Stands for an address the client wants a service to call: it must never be called. */
let victim: Recorder;
let g: TestGateway;

beforeAll(async () => {
  up = await startRecorder();
  victim = await startRecorder();
  g = await startGateway({
    tls: { enabled: true },
    services: [{ name: 'echo', kind: 'url', baseUrl: `${up.url}/base`, health: { path: '/health', intervalMs: 50 } }, spec(await workerService('worker'))],
    supervisor: { stopGraceMs: 1000 },
  });
  await waitFor(() => g.gw.parts.supervisor.state('worker') === 'healthy', 'worker healthy');
});

afterAll(async () => {
  await g?.stop();
  await up?.close();
  await victim?.close();
});

beforeEach(() => {
  up.clear();
  up.respondWith({});
});

describe("a client's X-Moat-* headers never reach a service", () => {
  it('strips every x-moat-* and moat-* header, whatever its case', async () => {
    const forged = {
      'X-Moat-Progress-Url': `${victim.url}/steal`,
      'X-Moat-Progress-Token': 'mjp_forged',
      'X-Moat-Job-Id': 'job_forged',
      'X-Moat-Attempt': '1',
      'X-Moat-Workspace': '/etc',
      'x-moat-future-header': 'x',
      'Moat-Signature': 't=1,v1=forged',
      'X-Kept': 'yes',
    };
    const res = await g.fetch('/svc/echo/hdr', { headers: forged });
    expect(res.status).toBe(200);
    const [got] = up.received();
    expect(Object.keys(got?.headers ?? {}).filter((h) => h.startsWith('x-moat') || h.startsWith('moat-'))).toEqual([]);
    expect(got?.headers['x-kept']).toBe('yes');
  });

  it('does not let a client make the example worker POST to an address of its choosing (forged X-Moat-Progress-Url)', async () => {
    const res = await g.fetch('/svc/worker/jobs', {
      method: 'POST',
      headers: { 'X-Moat-Job-Id': 'job_forged', 'X-Moat-Progress-Url': `${victim.url}/steal`, 'X-Moat-Progress-Token': 'mjp_forged' },
      body: { steps: 1, stepMs: 1 },
    });
    // Without the dispatcher's headers the worker refuses the call: nothing runs, nothing is posted.
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/X-Moat-Job-Id/);
    expect(victim.received()).toEqual([]);
  });

  it("drops Moat's own cookies from the Cookie header and keeps the service's", async () => {
    await g.fetch('/svc/echo/c', { headers: { cookie: 'moat_session=secret; sid=1; __Host-moat-csrf=2' } });
    expect(up.received()[0]?.headers['cookie']).toBe('sid=1');
  });
});

describe("a service never speaks for the gateway's origin", () => {
  it("keeps the gateway's security headers whatever the service sends", async () => {
    up.respondWith({
      'strict-transport-security': 'max-age=0',
      'x-frame-options': 'ALLOWALL',
      'x-content-type-options': 'sniff',
      'referrer-policy': 'unsafe-url',
      'cache-control': 'public, max-age=31536000',
    });
    const res = await g.fetch('/svc/echo/page');
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('drops headers that act on the whole origin: Clear-Site-Data, Service-Worker-Allowed, Alt-Svc, Public-Key-Pins', async () => {
    up.respondWith({
      'clear-site-data': '"cookies", "storage"',
      'service-worker-allowed': '/',
      'alt-svc': 'h2="evil.example:443"',
      'public-key-pins': 'pin-sha256="x"; max-age=1',
      'x-service': 'echo',
    });
    const res = await g.fetch('/svc/echo/sw.js');
    for (const h of ['clear-site-data', 'service-worker-allowed', 'alt-svc', 'public-key-pins']) expect(res.headers[h], h).toBeUndefined();
    expect(res.headers['x-service']).toBe('echo');
  });

  it('confines Set-Cookie to /svc/<name> and drops what cannot be confined', async () => {
    up.respondWith({
      'set-cookie': [
        'sid=1; Path=/; HttpOnly',
        'pref=dark; Domain=localhost; Path=/api/v1',
        'moat_session=forged; Path=/; HttpOnly',
        '__Host-moat=forged; Path=/; Secure',
        '__Host-sid=1; Path=/; Secure',
        '=moat_session=forged; Path=/',
      ],
    });
    const res = await g.fetch('/svc/echo/login');
    expect(res.headers['set-cookie']).toEqual(['sid=1; HttpOnly; Path=/svc/echo', 'pref=dark; Path=/svc/echo']);
  });
});
