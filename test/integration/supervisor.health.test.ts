/**
 * Health probes against real services: flapping between healthy and unhealthy, a restart when the
 * policy asks for one, a start that never turns healthy, and a url service whose target is down.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeService, isAlive, postDirect, startSupervisor, waitFor, type TestSupervisor } from '../helpers/services.js';
import { freePort } from '../helpers/net.js';

let t: TestSupervisor | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

const NEVER = { policy: 'never', initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 3, resetAfterMs: 60_000 };

describe('health probes', () => {
  it('follows a flapping service between healthy and unhealthy without restarting it under the never policy', async () => {
    const svc = await fakeService('flappy', [], { restart: NEVER });
    t = await startSupervisor([svc]);
    await waitFor(() => t!.sup.state('flappy') === 'healthy', 'healthy');
    const pid = t.sup.status('flappy').pid;
    for (let round = 0; round < 2; round++) {
      await postDirect(svc.port, '/__health/down');
      await waitFor(() => t!.sup.state('flappy') === 'unhealthy', `unhealthy (round ${round})`);
      expect(t.sup.status('flappy').lastHealth).toMatchObject({ ok: false, status: 503, error: 'status 503' });
      await expect(t.sup.ensureRunning('flappy', 1000)).rejects.toMatchObject({ code: 'service_unavailable', headers: { 'retry-after': '1' } });
      await postDirect(svc.port, '/__health/up');
      await waitFor(() => t!.sup.state('flappy') === 'healthy', `healthy again (round ${round})`);
    }
    expect(t.sup.status('flappy').pid).toBe(pid);
    const flips = t.events.filter((e) => e.type === 'service.state').map((e) => e['to']);
    expect(flips).toEqual(['starting', 'healthy', 'unhealthy', 'healthy', 'unhealthy', 'healthy']);
    expect(t.audits.filter((a) => a.type === 'service.unhealthy')).toHaveLength(2);
  });

  it('restarts an unhealthy service when its policy says so', async () => {
    const svc = await fakeService('sick', [], { restart: { policy: 'on-failure', initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 5, resetAfterMs: 60_000 } });
    t = await startSupervisor([svc]);
    await waitFor(() => t!.sup.state('sick') === 'healthy', 'healthy');
    const pid = t.sup.status('sick').pid!;
    await postDirect(svc.port, '/__health/down');
    await waitFor(() => t!.sup.state('sick') === 'healthy' && t!.sup.status('sick').pid !== pid, 'healthy with a new process');
    expect(isAlive(pid)).toBe(false);
    expect(t.sup.status('sick').restarts).toBe(1);
    const flips = t.events.filter((e) => e.type === 'service.state').map((e) => e['to']);
    expect(flips).toEqual(['starting', 'healthy', 'unhealthy', 'backoff', 'starting', 'healthy']);
  });

  it('turns a service that never answers its probe unhealthy after startTimeoutMs', async () => {
    t = await startSupervisor([await fakeService('mute', ['--no-listen'], { startTimeoutMs: 300, restart: NEVER })]);
    await waitFor(() => t!.sup.state('mute') === 'unhealthy', 'unhealthy after the start timeout');
    expect(t.sup.status('mute').lastHealth).toMatchObject({ ok: false, error: 'refused' });
    expect(t.sup.logs('mute', 20).lines.some((l) => l.line === 'not healthy 300 ms after start')).toBe(true);
  });

  it('probes a url service: unhealthy while its target is down, healthy once it answers', async () => {
    const port = await freePort();
    t = await startSupervisor([
      { name: 'remote', kind: 'url', baseUrl: `http://127.0.0.1:${port}/base`, health: { path: '/ok', intervalMs: 50, timeoutMs: 500, unhealthyThreshold: 2 } },
    ]);
    await waitFor(() => t!.sup.state('remote') === 'unhealthy', 'unhealthy while down');
    await expect(t.sup.ensureRunning('remote', 500)).rejects.toMatchObject({ code: 'service_unavailable' });
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      await waitFor(() => t!.sup.state('remote') === 'healthy', 'healthy once it answers');
      expect(paths[0]).toBe('/base/ok');
      expect(t.sup.status('remote').pid).toBeNull();
    } finally {
      await t.stop();
      t = null;
      await new Promise((r) => server.close(r));
    }
  });
});
