/**
 * Starting on demand and stopping when idle, with the real example worker: ensureRunning starts a
 * stopped command service and waits for healthy; an idle service stops to free the GPU, but not
 * while a request is in flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startSupervisor, waitFor, workerService, type TestSupervisor } from '../helpers/services.js';

let t: TestSupervisor | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('start on demand', () => {
  it('starts a stopped command service and resolves once it is healthy', async () => {
    t = await startSupervisor([await workerService('worker', { autoStart: false })]);
    expect(t.sup.state('worker')).toBe('stopped');
    await t.sup.ensureRunning('worker', 15_000);
    expect(t.sup.state('worker')).toBe('healthy');
    expect(t.audits.find((a) => a.type === 'service.started')?.detail).toMatchObject({ reason: 'demand' });
  });

  it('lets concurrent callers share one start', async () => {
    t = await startSupervisor([await workerService('worker', { autoStart: false })]);
    await Promise.all([t.sup.ensureRunning('worker'), t.sup.ensureRunning('worker'), t.sup.ensureRunning('worker')]);
    expect(t.audits.filter((a) => a.type === 'service.started')).toHaveLength(1);
  });

  it('gives up with 503 service_unavailable when the service is not healthy in time', async () => {
    t = await startSupervisor([await workerService('worker', { autoStart: false, health: { path: '/no-such-route', intervalMs: 50 } })]);
    await expect(t.sup.ensureRunning('worker', 300)).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
  });

  it('answers 404 service_not_found for a name nobody registered', async () => {
    t = await startSupervisor([]);
    expect(() => t!.sup.ensureRunning('ghost')).toThrow(expect.objectContaining({ code: 'service_not_found' }));
  });
});

describe('idle stop', () => {
  it('stops an idle command service and starts it again on the next demand', async () => {
    t = await startSupervisor([await workerService('worker', { idleStopAfter: 0.3 })]);
    await waitFor(() => t!.sup.state('worker') === 'healthy', 'healthy');
    const pid = t.sup.status('worker').pid!;
    await waitFor(() => t!.sup.state('worker') === 'stopped', 'stopped when idle');
    expect(isAlive(pid)).toBe(false);
    expect(t.audits.find((a) => a.type === 'service.stopped')?.detail).toMatchObject({ reason: 'idle' });
    await t.sup.ensureRunning('worker');
    expect(t.sup.state('worker')).toBe('healthy');
  });

  it('does not stop a service while a request is in flight, and counts activity as use', async () => {
    t = await startSupervisor([await workerService('worker', { idleStopAfter: 0.2 })]);
    await waitFor(() => t!.sup.state('worker') === 'healthy', 'healthy');
    const release = t.sup.track('worker');
    // Several idle periods pass with the request open: the service stays.
    const until = Date.now() + 700;
    await waitFor(() => Date.now() > until, 'three idle periods', 5000, 50);
    expect(t.sup.state('worker')).toBe('healthy');
    expect(t.sup.status('worker').activeRequests).toBe(1);
    release();
    release();
    expect(t.sup.status('worker').activeRequests).toBe(0);
    await waitFor(() => t!.sup.state('worker') === 'stopped', 'stopped once released and idle');
  });
});
