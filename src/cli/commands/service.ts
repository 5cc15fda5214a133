/**
 * `moat service ls|show|add|rm|start|stop|restart|logs [-f]`: human tables by default, `--json` for
 * scripts. `add` and `rm` go through POST and DELETE /api/v1/services, with the API's rules.
 */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { CliUsageError } from '../output.js';
import { printJson, printTable } from '../output.js';
import type { LogLine, ServiceDeleted, ServiceList, ServiceLogs, ServiceStatus } from '../../api/services.js';

type Flags = ClientFlags & { json?: boolean };

/** 3725 -> "1h2m"; null -> "-". */
export function uptime(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${seconds % 60 ? `${seconds % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d${h % 24 ? `${h % 24}h` : ''}`;
}

const health = (s: ServiceStatus) => (s.lastHealth ? (s.lastHealth.ok ? `ok ${s.lastHealth.ms}ms` : (s.lastHealth.error ?? 'failing')) : '-');
const exit = (s: ServiceStatus) => (s.lastExit ? (s.lastExit.error ?? (s.lastExit.signal ? `signal ${s.lastExit.signal}` : `code ${s.lastExit.code}`)) : '-');

function show(s: ServiceStatus): void {
  const rows: Array<[string, string]> = [
    ['name', s.name],
    ['kind', `${s.kind} (from ${s.source === 'config' ? 'the config file' : 'the API'})`],
    ['state', s.state + (s.nextRestartAt ? `, next restart at ${s.nextRestartAt}` : '')],
    ['pid', s.pid === null ? '-' : String(s.pid)],
    ['uptime', uptime(s.uptimeSeconds)],
    ['restarts', `${s.restarts} (failures in a row: ${s.failuresInARow}, policy ${s.restart.policy}, max ${s.restart.maxAttempts})`],
    ['health', `${health(s)} (${s.health.path === null ? 'GET / answering below 500' : `GET ${s.health.path}`} every ${s.health.intervalMs} ms)`],
    ['last exit', exit(s)],
    ['base url', s.baseUrl],
    ['command', s.command ? s.command.join(' ') : '-'],
    ...(s.kind === 'container'
      ? ([
          ['image', s.image ?? '-'],
          ['container', s.containerId ?? '-'],
        ] as Array<[string, string]>)
      : []),
    ['env', s.envKeys.length > 0 ? s.envKeys.join(', ') : '-'],
    ['upstream', s.upstreamHeaders && s.upstreamHeaders.length > 0 ? `${s.upstreamHeaders.join(', ')} (set by moat, values not shown)` : '-'],
    ['concurrency', String(s.concurrency)],
    ['idle stop', s.idleStopAfter > 0 ? `after ${uptime(Math.round(s.idleStopAfter))}` : 'never'],
    ['tags', s.tags.length > 0 ? s.tags.join(', ') : '-'],
    ['requests', `${s.activeRequests} in flight`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(12)}${v}\n`);
}

const path = (name: string, rest = '') => `/api/v1/services/${encodeURIComponent(name)}${rest}`;

export function serviceCommand(program: Command): void {
  const service = program.command('service').description('services moat runs and forwards to: list, show, add, rm, start, stop, restart, logs');

  addClientFlags(service.command('ls').alias('list').description('list services with their state'))
    .option('--json', 'print JSON')
    .action(async (opts: Flags) => {
      const { services } = await withClient(opts, (c) => c.get<ServiceList>('/api/v1/services'));
      if (opts.json) return printJson(services);
      // Container services add their image and container id (the columns appear only when there is one).
      const containers = services.some((s) => s.kind === 'container') ? ['image', 'container'] : [];
      printTable(
        services.map((s) => ({ ...s, container: s.containerId, uptime: uptime(s.uptimeSeconds), health: health(s), exit: exit(s) })),
        ['name', 'kind', 'state', 'pid', ...containers, 'uptime', 'restarts', 'health', 'exit', 'tags'],
      );
    });

  addClientFlags(service.command('show').description('one service in detail'))
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: Flags) => {
      const s = await withClient(opts, (c) => c.get<ServiceStatus>(path(name)));
      if (opts.json) return printJson(s);
      show(s);
    });

  addClientFlags(service.command('add').description('register a model server (or any HTTP service) that already runs, as a url service'))
    .argument('<name>', 'the name: /svc/<name>/ and the scope svc:<name>')
    .requiredOption('--url <url>', 'where it listens, on loopback (e.g. http://127.0.0.1:11434)')
    .option('--health <path>', 'a path that answers 2xx when it is ready (default: GET / answering below 500)')
    .option('--tag <tag...>', 'free labels, e.g. gpu')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: Flags & { url: string; health?: string; tag?: string[] }) => {
      if (opts.health !== undefined && !opts.health.startsWith('/'))
        throw new CliUsageError(`--health must be a path starting with /, not ${JSON.stringify(opts.health)}`);
      const body = { name, kind: 'url', baseUrl: opts.url, ...(opts.health ? { health: { path: opts.health } } : {}), ...(opts.tag ? { tags: opts.tag } : {}) };
      const s = await withClient(opts, (c) => c.post<ServiceStatus>('/api/v1/services', body));
      if (opts.json) return printJson(s);
      process.stdout.write(`${s.name}: registered, ${s.state} (${s.baseUrl}); clients reach it at /svc/${s.name}/ with a token of scope svc:${s.name}\n`);
    });

  addClientFlags(service.command('rm').alias('remove').description('stop and delete a service registered through the API'))
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: Flags) => {
      const r = await withClient(opts, (c) => c.delete<ServiceDeleted>(path(name)));
      if (opts.json) return printJson(r);
      process.stdout.write(`${r.name}: deleted\n`);
    });

  for (const action of ['start', 'stop', 'restart'] as const) {
    addClientFlags(service.command(action).description(`${action} a service`))
      .argument('<name>')
      .option('--json', 'print JSON')
      .action(async (name: string, opts: Flags) => {
        const s = await withClient(opts, (c) => c.post<ServiceStatus>(path(name, `/${action}`)));
        if (opts.json) return printJson(s);
        process.stdout.write(`${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}\n`);
      });
  }

  addClientFlags(service.command('logs').description("a service's captured stdout/stderr"))
    .argument('<name>')
    .option('-n, --lines <n>', 'lines to print', '100')
    .option('-f, --follow', 'keep printing new lines (polls every second)')
    .option('--json', 'one JSON object per line')
    .action(async (name: string, opts: Flags & { lines: string; follow?: boolean }) => {
      const print = (l: LogLine) => process.stdout.write(opts.json ? `${JSON.stringify(l)}\n` : `${l.ts} ${l.stream.padEnd(6)} ${l.line}\n`);
      await withClient(opts, async (c) => {
        let after = 0;
        let tail = Math.max(1, Number(opts.lines) || 100);
        for (;;) {
          const r = await c.get<ServiceLogs>(path(name, `/logs?tail=${tail}&after=${after}`));
          for (const l of r.lines) print(l);
          after = Math.max(after, r.lastSeq);
          if (!opts.follow) return;
          tail = 10_000;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      });
    });
}
