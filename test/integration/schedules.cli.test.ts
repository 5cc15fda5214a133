/** `moat schedule add|ls|pause|resume|run|rm` as a user runs them: the real CLI against a real gateway. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startJobsGateway, type JobsGateway } from '../helpers/jobs.js';

let g: JobsGateway;
const moat = (...args: string[]) => runCli(['schedule', ...args, '--data-dir', g.dataDir], {}, 30_000);

beforeAll(async () => {
  g = await startJobsGateway();
});
afterAll(async () => {
  await g?.stop();
});

describe('moat schedule', () => {
  it('add, ls, pause, resume, run, rm', async () => {
    const add = await moat('add', 'nightly', '--cron', '0 3 * * *', '--service', 'worker', '--timezone', 'UTC', '--payload', '{"steps":0,"from":"cli"}');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^schedule nightly added; next run \d{4}-\d\d-\d\dT03:00:00\.000Z\n$/);

    const ls = await moat('ls');
    const [header, row] = ls.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+CRON\s+TIMEZONE\s+SERVICE\s+STATE\s+LASTRUNAT\s+NEXTRUNAT$/);
    expect(row).toMatch(/^nightly\s+0 3 \* \* \*\s+UTC\s+worker\s+active\s+-\s+\S+T03:00:00\.000Z$/);

    expect((await moat('pause', 'nightly')).stdout).toBe('schedule nightly paused\n');
    expect(JSON.parse((await moat('ls', '--json')).stdout)[0]).toMatchObject({ name: 'nightly', paused: true, nextRunAt: null });
    expect((await moat('resume', 'nightly')).stdout).toBe('schedule nightly resumed\n');

    const run = await moat('run', 'nightly');
    expect(run.code).toBe(0);
    const id = /job (job_\S+)$/.exec(run.stdout.trim())![1]!;
    expect(await g.until(id)).toMatchObject({ state: 'succeeded', payload: { from: 'cli' }, createdBy: { id: 'schedule:nightly' } });

    expect((await moat('rm', 'nightly')).stdout).toBe('schedule nightly deleted\n');
    expect(JSON.parse((await moat('ls', '--json')).stdout)).toEqual([]);
  });

  it('says what is wrong with a bad cron, and exits non-zero', async () => {
    const res = await moat('add', 'broken', '--cron', 'at noon', '--service', 'worker');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/cron/);
    const gone = await moat('rm', 'never-was');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/no schedule/);
  });
});
