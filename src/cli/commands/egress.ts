/** `moat egress check <url> [--purpose ...]`: would the egress guard let this URL out, and why. */
import { Option, type Command } from 'commander';
import { EGRESS_PURPOSE_NAMES, type EgressCheck } from '../../api/egress.js';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { printJson } from '../output.js';

export function egressCommand(program: Command): void {
  const egress = program.command('egress').description('the egress guard: what outbound requests may reach');
  addClientFlags(
    egress
      .command('check')
      .description('say whether a URL would be allowed out now and why, without sending anything to it; exit status 1 if denied')
      .argument('<url>'),
  )
    .addOption(new Option('--purpose <purpose>', 'whose policy applies').choices(EGRESS_PURPOSE_NAMES).default('callback'))
    .option('--json', 'print JSON')
    .action(async (url: string, opts: ClientFlags & { purpose: string; json?: boolean }) => {
      const r = await withClient(opts, (c) => c.post<EgressCheck>('/api/v1/egress/check', { url, purpose: opts.purpose }));
      if (!r.allowed) process.exitCode = 1;
      if (opts.json) return printJson(r);
      process.stdout.write(
        [
          `${r.allowed ? 'allowed' : 'denied'}: ${r.reason}`,
          `purpose    ${r.purpose}`,
          `rule       ${r.rule ?? '-'}`,
          `addresses  ${r.addresses.length > 0 ? r.addresses.join(', ') : '-'}`,
        ].join('\n') + '\n',
      );
    });
}
