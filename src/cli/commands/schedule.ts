/** `moat schedule add|ls|rm|pause|resume|run` and `moat callbacks secret`. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { CliUsageError, printJson, printTable } from '../output.js';
import type { CallbackSecret, Deleted, ScheduleList, ScheduleRun, ScheduleView as Schedule } from '../../api/jobs.js';

export function scheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('cron schedules that submit jobs');
  addClientFlags(schedule.command('add').description('add a schedule'))
    .argument('<name>')
    .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * *"')
    .requiredOption('--service <name>', 'service that gets the job')
    .option('--payload <json|@file>', 'payload of each job')
    .option('--timezone <tz>', 'IANA time zone')
    .option('--missed <rule>', 'run-once or skip: what happens to ticks missed while moat was down')
    .action(async (name: string, opts: ClientFlags & { cron: string; service: string; payload?: string; timezone?: string; missed?: string }) => {
      let payload: unknown;
      if (opts.payload !== undefined) {
        try {
          payload = JSON.parse(opts.payload.startsWith('@') ? readFileSync(opts.payload.slice(1), 'utf8') : opts.payload);
        } catch (err) {
          throw new CliUsageError(`--payload is not valid JSON: ${(err as Error).message}`);
        }
      }
      const s = await withClient(opts, (c) =>
        c.post<Schedule>('/api/v1/schedules', {
          name,
          cron: opts.cron,
          service: opts.service,
          ...(payload !== undefined ? { payload } : {}),
          ...(opts.timezone ? { timezone: opts.timezone } : {}),
          ...(opts.missed ? { missed: opts.missed } : {}),
        }),
      );
      process.stdout.write(`schedule ${s.name} added; next run ${s.nextRunAt}\n`);
    });
  addClientFlags(schedule.command('ls').description('list schedules'))
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { json?: boolean }) => {
      const { schedules } = await withClient(opts, (c) => c.get<ScheduleList>('/api/v1/schedules'));
      if (opts.json) return printJson(schedules);
      printTable(
        schedules.map((s) => ({ ...s, state: s.paused ? 'paused' : 'active' })),
        ['name', 'cron', 'timezone', 'service', 'state', 'lastRunAt', 'nextRunAt'],
      );
    });
  for (const [verb, path, method, says] of [
    ['rm', '', 'DELETE', 'deleted'],
    ['pause', '/pause', 'POST', 'paused'],
    ['resume', '/resume', 'POST', 'resumed'],
    ['run', '/run', 'POST', 'submitted'],
  ] as const) {
    addClientFlags(schedule.command(verb).description(`${verb} a schedule${verb === 'run' ? ' now (submits its job)' : ''}`))
      .argument('<name>')
      .action(async (name: string, opts: ClientFlags) => {
        const r = await withClient(opts, (c) => c.request<Schedule | Deleted | ScheduleRun>(method, `/api/v1/schedules/${encodeURIComponent(name)}${path}`));
        const job = 'job' in r.body ? r.body.job : undefined;
        process.stdout.write(`schedule ${name} ${says}${job ? `: job ${job}` : ''}\n`);
      });
  }
  const callbacks = program.command('callbacks').description('signed job callbacks');
  addClientFlags(callbacks.command('secret').description('print the key that signs callbacks to one receiver (Moat-Signature v2)'))
    .requiredOption('--for <url>', 'the exact URL the callbacks go to (a key is good for that receiver only)')
    .action(async (opts: ClientFlags & { for: string }) => {
      const r = await withClient(opts, (c) => c.get<CallbackSecret>(`/api/v1/callbacks/secret?for=${encodeURIComponent(opts.for)}`));
      process.stdout.write(`${r.secret}\n`);
      process.stderr.write(`receiver: ${r.receiver}\nMoat-Signature: ${r.scheme}\n`);
    });
}
