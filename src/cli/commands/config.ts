/** `moat config get [path]` and `moat config set <path> <value>` (live keys only; secrets redacted). */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { CliUsageError, printJson } from '../output.js';
import type { ConfigView as View } from '../../api/gateway.js';

const SEGMENT = /^[A-Za-z0-9_$-]+$/;

function segments(path: string): string[] {
  const parts = path.split('.');
  if (parts.some((p) => !SEGMENT.test(p))) throw new CliUsageError(`not a config path: ${JSON.stringify(path)} (e.g. rateLimit.general.perMinute)`);
  return parts;
}

/** `value` as JSON when it parses (numbers, booleans, lists, null to remove an override), else as text. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function configCommand(program: Command): void {
  const config = program.command('config').description('the live configuration of the running gateway');
  addClientFlags(config.command('get').description('print the effective configuration (or one key) with its source'))
    .argument('[path]', 'dotted key, e.g. rateLimit.general.perMinute')
    .action(async (path: string | undefined, opts: ClientFlags) => {
      const view = await withClient(opts, (c) => c.get<View>('/api/v1/config'));
      if (path === undefined) return printJson(view);
      let node: unknown = view.config;
      for (const seg of segments(path)) node = (node as Record<string, unknown> | undefined)?.[seg];
      if (node === undefined) throw new CliUsageError(`no key ${path}`);
      printJson(node);
      const source = view.sources[path];
      if (source) process.stderr.write(`source: ${source}\n`);
    });
  addClientFlags(
    config
      .command('set')
      .description('change a live key (services, hooks, triggers, tools, egress, rateLimit, allowedOrigins, publicNames, notifications, mounts)'),
  )
    .argument('<path>', 'dotted key, e.g. rateLimit.general.perMinute')
    .argument('<value>', 'JSON value (null removes the override); anything else is taken as text')
    .action(async (path: string, value: string, opts: ClientFlags) => {
      const parts = segments(path);
      const patch: Record<string, unknown> = {};
      let node = patch;
      for (const seg of parts.slice(0, -1)) {
        node[seg] = {};
        node = node[seg] as Record<string, unknown>;
      }
      node[parts[parts.length - 1] as string] = parseValue(value);
      await withClient(opts, (c) => c.request('PATCH', '/api/v1/config', { body: patch, headers: { 'content-type': 'application/merge-patch+json' } }));
      process.stdout.write(`${path} changed\n`);
    });
}
