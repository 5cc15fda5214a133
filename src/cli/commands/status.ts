/** `moat status`: what the running gateway says about itself. */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { printJson } from '../output.js';
import type { Status } from '../../api/gateway.js';

export function statusCommand(program: Command): void {
  addClientFlags(program.command('status').description('show the running gateway: bind, TLS, auth, uptime'))
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { json?: boolean }) => {
      const s = await withClient(opts, (c) => c.get<Status>('/api/v1/status'));
      if (opts.json) return printJson(s);
      process.stdout.write(
        [
          `moat ${s.version}`,
          `bind      ${s.bind.address}:${s.bind.port} (${s.bind.class})`,
          `tls       ${s.tls.enabled ? `on, SHA-256 ${s.tls.fingerprint}` : 'off'}`,
          `auth      ${s.auth.enabled ? 'on' : 'OFF'}`,
          `uptime    ${s.uptimeSeconds} s`,
        ].join('\n') + '\n',
      );
    });
}
