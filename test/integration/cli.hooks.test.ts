/**
 * `moat hook ...` and `moat task ...` as a user runs them: the real CLI (dist/main.js) against a
 * real gateway. `hook test` signs a sample with the secret it is given (the API never returns it);
 * `task approve` runs a task's pending job on the example worker.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { taskIds, waitForJob } from '../helpers/hooks.js';
import { spec, workerService } from '../helpers/services.js';

const SECRET = 'cli-hook-secret-0123456789abc';
let g: TestGateway;
/** Creates the tasks (scope tasks); the CLI approves them as admin, a second principal. */
let agentToken: string;
const cli = (...args: string[]) => runCli([...args, '--data-dir', g.dataDir]);

beforeAll(async () => {
  const worker = await workerService('worker', { health: { intervalMs: 100 } });
  g = await startGateway({
    rateLimit: { enabled: false },
    services: [spec(worker)],
    hooks: [{ name: 'slack-cfg', verify: 'slack', secret: SECRET, action: { type: 'task', title: 'slack {body.command}' } }],
  });
  agentToken = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'agent', scopes: ['tasks'] } })).json.token as string;
});
afterAll(() => g?.stop());

describe('moat hook', () => {
  it('add (secret from a file), ls (secret as set), test (a signed sample is accepted), rm', async () => {
    const secretFile = join(tmpDir('moat-cli-secret-'), 'secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const add = await cli(
      'hook',
      'add',
      'ci',
      '--verify',
      'github',
      '--secret-file',
      secretFile,
      '--task',
      'push {body.ref}',
      '--job',
      'worker',
      '--payload',
      '{"steps":1,"stepMs":1,"repo":"{body.repository.full_name}"}',
    );
    expect(add.code, add.stderr).toBe(0);
    // The full URL a sender is given, not a path relative to nothing.
    expect(add.stdout).toBe(`ci github task "push {body.ref}" (+ job -> worker): POST ${g.url}/hooks/ci\n`);

    const ls = await cli('hook', 'ls');
    expect(ls.stdout).not.toContain(SECRET);
    expect(ls.stdout).toMatch(/^NAME\s+VERIFY\s+SECRET\s+ACTION\s+SOURCE\s+URL$/m);
    expect(ls.stdout).toMatch(new RegExp(`^ci\\s+github\\s+set\\s+task "push \\{body\\.ref\\}" \\(\\+ job -> worker\\)\\s+api\\s+${g.url}/hooks/ci$`, 'm'));
    expect(ls.stdout).toMatch(new RegExp(`^slack-cfg\\s+slack\\s+set\\s+task "slack \\{body\\.command\\}"\\s+config\\s+${g.url}/hooks/slack-cfg$`, 'm'));

    const test = await cli('hook', 'test', 'ci', '--secret-file', secretFile, '--delivery-id', 'cli-1');
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/^202 accepted task task_\S+\n$/);
    const id = /task (task_\S+)/.exec(test.stdout)?.[1] as string;
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json).toMatchObject({
      title: 'push refs/heads/main',
      state: 'pending_approval',
      job: { payload: { repo: 'moat/test' } },
    });

    const again = await cli('hook', 'test', 'ci', '--secret-file', secretFile, '--delivery-id', 'cli-1', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 200, duplicate: true, task: id });

    const rm = await cli('hook', 'rm', 'ci');
    expect([rm.code, rm.stdout]).toEqual([0, 'ci removed\n']);
  });

  it('test signs a Slack form sample for a config hook', async () => {
    const res = await cli('hook', 'test', 'slack-cfg', '--secret', SECRET);
    expect(res.code, res.stderr).toBe(0);
    const id = /task (task_\S+)/.exec(res.stdout)?.[1] as string;
    expect((await g.fetch(`/api/v1/tasks/${id}`)).json.title).toBe('slack /moat');
  });

  it('test with the wrong secret fails with signature_invalid and creates nothing', async () => {
    const before = await taskIds(g);
    const res = await cli('hook', 'test', 'slack-cfg', '--secret', 'not-the-right-secret-000');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('signature_invalid');
    expect(res.stderr).toContain('is --secret the hook');
    expect(await taskIds(g)).toEqual(before);
  });

  it('rm of a config hook says it is read-only', async () => {
    const res = await cli('hook', 'rm', 'slack-cfg');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('hook_readonly');
  });
});

describe('moat task', () => {
  it('ls, show, approve (the job runs), reject', async () => {
    const a = (
      await g.fetch('/api/v1/tasks', {
        method: 'POST',
        auth: agentToken,
        body: { title: 'Approve via CLI', job: { service: 'worker', payload: { steps: 1, stepMs: 1 } } },
      })
    ).json.id as string;
    const b = (await g.fetch('/api/v1/tasks', { method: 'POST', auth: agentToken, body: { title: 'Reject via CLI', job: { service: 'worker', payload: {} } } }))
      .json.id as string;

    const ls = await cli('task', 'ls', '--state', 'pending_approval');
    expect(ls.stdout).toMatch(/^ID\s+STATE\s+TITLE\s+JOB\s+SOURCE\s+CREATEDAT$/m);
    expect(ls.stdout).toMatch(new RegExp(`^${a}\\s+pending_approval\\s+Approve via CLI\\s+worker \\(waits\\)\\s+api\\s`, 'm'));

    const approve = await cli('task', 'approve', a, '--comment', 'ship it');
    expect(approve.code, approve.stderr).toBe(0);
    const jobId = /^task_\S+ approved job (job_\S+)\n$/.exec(approve.stdout)?.[1] as string;
    expect(jobId).toBeDefined();
    expect((await waitForJob(g, jobId)).state).toBe('succeeded');

    const show = JSON.parse((await cli('task', 'show', a)).stdout) as { comments: Array<{ text: string }>; events: Array<{ type: string }> };
    expect(show.comments.map((c) => c.text)).toEqual(['ship it']);
    expect(show.events.map((e) => e.type)).toContain('job.submitted');

    expect((await cli('task', 'reject', b)).stdout).toBe(`${b} rejected\n`);
    const twice = await cli('task', 'approve', b);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain('task_state_invalid');
  });

  it('links prints approve and reject URLs', async () => {
    const id = (await g.fetch('/api/v1/tasks', { method: 'POST', auth: agentToken, body: { title: 'linked', job: { service: 'worker', payload: {} } } })).json
      .id as string;
    const res = await cli('task', 'links', id, '--ttl', '2h');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^approve: http:\/\/127\.0\.0\.1:\d+\/actions\/\S+\nreject: {2}http:\/\/127\.0\.0\.1:\d+\/actions\/\S+\nexpires: \S+\n$/);
  });
});
