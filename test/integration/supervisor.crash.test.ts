/**
 * Crashes, from real child processes: backoff restarts per the policy, then `failed` with the last
 * exit code and the log tail in an event; a clean exit under on-failure; a program that cannot start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeService, startSupervisor, waitFor, type TestSupervisor } from '../helpers/services.js';

let t: TestSupervisor | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('crash handling', () => {
  it('restarts a crashing service with backoff, then marks it failed with its exit code and log tail', async () => {
    const svc = await fakeService('crasher', ['--exit-after', '30', '--exit-code', '3'], {
      restart: { policy: 'on-failure', initialDelayMs: 20, maxDelayMs: 80, maxAttempts: 3, resetAfterMs: 60_000 },
    });
    t = await startSupervisor([svc]);
    await waitFor(() => t!.sup.state('crasher') === 'failed', 'failed', 20_000);

    const s = t.sup.status('crasher');
    expect(s.lastExit).toMatchObject({ code: 3, signal: null });
    expect(s.restarts).toBe(3);
    expect(s.pid).toBeNull();
    const states = t.events.filter((e) => e.type === 'service.state').map((e) => e['to']);
    // start, then three rounds of crash -> backoff -> start, then the last crash -> failed.
    expect(states.filter((x) => x === 'backoff')).toHaveLength(3);
    expect(states.filter((x) => x === 'crashed')).toHaveLength(4);
    expect(states[states.length - 1]).toBe('failed');
    const delays = t.events.filter((e) => e['to'] === 'backoff').map((e) => e['delayMs']);
    expect(delays).toEqual([20, 40, 80]);

    const failed = t.events.find((e) => e.type === 'service.failed');
    expect(failed).toMatchObject({ service: 'crasher', exitCode: 3, attempts: 4 });
    expect(failed?.['logTail']).toEqual(expect.arrayContaining(['exiting with 3']));
    expect(t.audits.filter((a) => a.type === 'service.crashed')).toHaveLength(4);
    expect(t.audits.find((a) => a.type === 'service.failed')).toMatchObject({ outcome: 'error', detail: { service: 'crasher', exitCode: 3 } });
    expect(t.audits.filter((a) => a.type === 'service.restarted')).toHaveLength(3);
  });

  it('answers a start on demand for a failed service with 503 service_unavailable, and starts it again when the operator asks', async () => {
    const svc = await fakeService('crasher', ['--exit-after', '20'], {
      restart: { policy: 'always', initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 1, resetAfterMs: 60_000 },
    });
    t = await startSupervisor([svc]);
    await waitFor(() => t!.sup.state('crasher') === 'failed', 'failed');
    await expect(t.sup.ensureRunning('crasher', 1000)).rejects.toMatchObject({ code: 'service_unavailable', headers: { 'retry-after': '60' } });
    await t.sup.start('crasher');
    expect(['starting', 'healthy', 'crashed', 'backoff']).toContain(t.sup.state('crasher'));
    expect(t.sup.status('crasher').failuresInARow).toBeLessThanOrEqual(1);
  });

  it('leaves a service stopped after a clean exit under on-failure, and restarts it under always', async () => {
    const clean = await fakeService('clean', ['--exit-after', '50', '--exit-code', '0']);
    const always = await fakeService('always', ['--exit-after', '50', '--exit-code', '0'], {
      restart: { policy: 'always', initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 100, resetAfterMs: 60_000 },
    });
    t = await startSupervisor([clean, always]);
    await waitFor(() => t!.sup.state('clean') === 'stopped' && t!.sup.status('clean').lastExit !== null, 'clean exit -> stopped');
    expect(t.sup.status('clean').lastExit?.code).toBe(0);
    await waitFor(() => t!.sup.status('always').restarts >= 2, 'always restarts');
  });

  it('stays crashed under the never policy', async () => {
    t = await startSupervisor([await fakeService('once', ['--exit-after', '30', '--exit-code', '9'], { restart: { policy: 'never' } })]);
    await waitFor(() => t!.sup.state('once') === 'crashed', 'crashed');
    expect(t.sup.status('once')).toMatchObject({ restarts: 0, lastExit: { code: 9 } });
    await expect(t.sup.ensureRunning('once', 500)).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('fails a program that cannot be started at all, saying why', async () => {
    t = await startSupervisor([
      {
        name: 'missing',
        kind: 'command',
        command: ['/nonexistent/program'],
        baseUrl: 'http://127.0.0.1:9',
        restart: { policy: 'on-failure', initialDelayMs: 5, maxDelayMs: 5, maxAttempts: 1, resetAfterMs: 1000 },
      },
    ]);
    await waitFor(() => t!.sup.state('missing') === 'failed', 'failed');
    expect(t.sup.status('missing').lastExit).toMatchObject({ code: null, error: 'ENOENT' });
    expect(t.sup.logs('missing', 10).lines.some((l) => l.line.includes('ENOENT'))).toBe(true);
  });

  it('forgets earlier failures once a run outlived resetAfterMs', async () => {
    // Each run lives 200 ms, longer than resetAfterMs: the failures never add up to maxAttempts.
    const svc = await fakeService('steady', ['--exit-after', '200'], {
      restart: { policy: 'on-failure', initialDelayMs: 5, maxDelayMs: 5, maxAttempts: 1, resetAfterMs: 100 },
    });
    t = await startSupervisor([svc]);
    await waitFor(() => t!.sup.status('steady').restarts >= 3, 'three restarts');
    expect(t.sup.state('steady')).not.toBe('failed');
    expect(t.sup.status('steady').failuresInARow).toBeLessThanOrEqual(1);
  });
});
