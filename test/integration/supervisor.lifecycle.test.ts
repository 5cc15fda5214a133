/**
 * The supervisor with real child processes: start, stop, restart, logs, the SIGTERM -> SIGKILL
 * escalation and the process group (no grandchild survives a stop).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeService, isAlive, startSupervisor, waitFor, workerService, type TestSupervisor } from '../helpers/services.js';

let t: TestSupervisor | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('supervisor lifecycle', () => {
  it('starts a command service at boot, reports it healthy with pid and uptime, and captures its output', async () => {
    const worker = await workerService();
    t = await startSupervisor([worker]);
    await waitFor(() => t!.sup.state('worker') === 'healthy', 'worker healthy');
    const s = t.sup.status('worker');
    expect(s.pid).toBeGreaterThan(0);
    expect(isAlive(s.pid!)).toBe(true);
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(s.lastHealth).toMatchObject({ ok: true, status: 200 });
    await waitFor(() => t!.sup.logs('worker', 10).lines.some((l) => l.stream === 'stdout' && l.line.includes('gpu-worker listening')), 'start line captured');
    expect(t.events.map((e) => e['to'])).toEqual(['starting', 'healthy']);
    expect(t.audits.map((a) => a.type)).toContain('service.started');
  });

  it('stops with SIGTERM, restarts with a new pid, and audits both', async () => {
    t = await startSupervisor([await workerService()]);
    await waitFor(() => t!.sup.state('worker') === 'healthy', 'healthy');
    const first = t.sup.status('worker').pid!;
    const stopped = await t.sup.stop('worker', { id: 'admin', name: 'admin' });
    expect(stopped.state).toBe('stopped');
    expect(stopped.pid).toBeNull();
    expect(stopped.lastExit?.code).toBe(0);
    await waitFor(() => !isAlive(first), 'old process gone');

    await t.sup.start('worker', { id: 'admin', name: 'admin' });
    await waitFor(() => t!.sup.state('worker') === 'healthy', 'healthy again');
    const second = t.sup.status('worker').pid!;
    expect(second).not.toBe(first);

    await t.sup.restart('worker');
    await waitFor(() => t!.sup.state('worker') === 'healthy', 'healthy after restart');
    expect(t.sup.status('worker').pid).not.toBe(second);
    expect(isAlive(second)).toBe(false);
    const types = t.audits.map((a) => a.type);
    expect(types.filter((x) => x === 'service.stopped').length).toBeGreaterThanOrEqual(2);
    expect(t.audits.find((a) => a.type === 'service.stopped')?.actor).toEqual({ id: 'admin', name: 'admin' });
  });

  it('escalates to SIGKILL when a child ignores SIGTERM, and takes its grandchildren with it', async () => {
    const fake = await fakeService('stubborn', ['--ignore-sigterm', '--grandchild']);
    t = await startSupervisor([fake], { stopGraceMs: 300 });
    await waitFor(() => t!.sup.state('stubborn') === 'healthy', 'healthy');
    const pid = t.sup.status('stubborn').pid!;
    const line = await waitFor(() => t!.sup.logs('stubborn', 50).lines.find((l) => l.line.startsWith('grandchild ')), 'grandchild pid printed');
    const grandchild = Number(line.line.split(' ')[1]);
    expect(isAlive(grandchild)).toBe(true);

    const s = await t.sup.stop('stubborn');
    expect(s.lastExit?.signal).toBe('SIGKILL');
    expect(isAlive(pid)).toBe(false);
    await waitFor(() => !isAlive(grandchild), 'grandchild gone');
    expect(t.sup.logs('stubborn', 50).lines.some((l) => l.line === 'ignoring SIGTERM')).toBe(true);
  });

  it('stops every child on its own stop(), even one that ignores SIGTERM', async () => {
    const a = await workerService('a');
    const b = await fakeService('b', ['--ignore-sigterm']);
    t = await startSupervisor([a, b], { stopGraceMs: 300 });
    await waitFor(() => t!.sup.state('a') === 'healthy' && t!.sup.state('b') === 'healthy', 'both healthy');
    const pids = [t.sup.status('a').pid!, t.sup.status('b').pid!];
    await t.stop();
    t = null;
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  it('keeps stderr apart from stdout and records its own notes', async () => {
    t = await startSupervisor([await fakeService('talker')]);
    await waitFor(() => t!.sup.logs('talker', 50).lines.some((l) => l.stream === 'stderr' && l.line === 'fake-service says hello on stderr'), 'stderr line');
    const lines = t.sup.logs('talker', 50).lines;
    expect(lines[0]).toMatchObject({ stream: 'moat', seq: 1 });
    expect(lines.some((l) => l.stream === 'stdout' && l.line.startsWith('fake-service up'))).toBe(true);
    const last = t.sup.logs('talker', 50).lastSeq;
    expect(t.sup.logs('talker', 50, last).lines).toEqual([]);
  });
});
