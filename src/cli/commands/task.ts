/** `moat task ls|show|approve|reject|links`: tasks and their reviews. */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { parseDuration, printJson, printTable } from '../output.js';
import type { TaskEvents, TaskLinks, TaskList, TaskView as Task } from '../../api/tasks.js';

const path = (id: string) => `/api/v1/tasks/${encodeURIComponent(id)}`;

function review(decision: 'approve' | 'reject') {
  return async (id: string, opts: ClientFlags & { comment?: string; json?: boolean }) => {
    const t = await withClient(opts, (c) => c.post<Task>(`${path(id)}/review`, { decision, ...(opts.comment ? { comment: opts.comment } : {}) }));
    if (opts.json) return printJson(t);
    process.stdout.write(`${t.id} ${t.state}${t.job?.id ? ` job ${t.job.id}` : ''}\n`);
  };
}

export function taskCommand(program: Command): void {
  const task = program.command('task').description('tasks: list, show, approve, reject, mint action links');
  addClientFlags(task.command('ls').description('list tasks, newest first'))
    .option('--state <state>', 'open, pending_approval, approved, rejected, done or canceled')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { state?: string; limit: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: opts.limit, ...(opts.state ? { state: opts.state } : {}) });
      const { tasks } = await withClient(opts, (c) => c.get<TaskList>(`/api/v1/tasks?${q}`));
      if (opts.json) return printJson(tasks);
      printTable(
        tasks.map((t) => ({ ...t, job: t.job ? `${t.job.service}${t.job.id ? ` ${t.job.id}` : ' (waits)'}` : '-' })),
        ['id', 'state', 'title', 'job', 'source', 'createdAt'],
      );
    });
  addClientFlags(task.command('show').description('show a task with its body, pending job, comments and event log'))
    .argument('<id>')
    .action(async (id: string, opts: ClientFlags) => {
      const out = await withClient(opts, async (c) => ({ ...(await c.get<Task>(path(id))), events: (await c.get<TaskEvents>(`${path(id)}/events`)).events }));
      printJson(out);
    });
  addClientFlags(task.command('approve').description('approve a pending task (its job is then submitted)'))
    .argument('<id>')
    .option('--comment <text>', 'a comment with the decision')
    .option('--json', 'print JSON')
    .action(review('approve'));
  addClientFlags(task.command('reject').description('reject a pending task (its job never runs)'))
    .argument('<id>')
    .option('--comment <text>', 'a comment with the decision')
    .option('--json', 'print JSON')
    .action(review('reject'));
  addClientFlags(task.command('links').description('mint signed approve/reject links for a notification'))
    .argument('<id>')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 24h, 7d (default 24h, at most 7d)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: ClientFlags & { ttl?: string; json?: boolean }) => {
      const body = opts.ttl ? { ttlSeconds: parseDuration(opts.ttl) } : {};
      const links = await withClient(opts, (c) => c.post<TaskLinks>(`${path(id)}/links`, body));
      if (opts.json) return printJson(links);
      process.stdout.write(`approve: ${links.approve}\nreject:  ${links.reject}\nexpires: ${links.expiresAt}\n`);
    });
}
