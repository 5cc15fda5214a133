/** `moat pair`: mint a single-use 6-digit pairing code for a phone or a teammate. */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { collect, parseDuration, printJson } from '../output.js';

export function pairCommand(program: Command): void {
  addClientFlags(program.command('pair').description('print a pairing code; the device sends it as X-Pairing-Code to POST /api/v1/pair'))
    .option('--scope <scope>', 'scope the paired token gets (repeatable; default read)', collect)
    .option('--ttl <duration>', 'how long the code is valid (default 5m)')
    .option('--token-ttl <duration>', 'lifetime of the token it creates (default: no expiry)')
    .option('--name <name>', 'name of the token it creates')
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { scope?: string[]; ttl?: string; tokenTtl?: string; name?: string; json?: boolean }) => {
      const body = {
        scopes: opts.scope ?? ['read'],
        ...(opts.ttl ? { ttlSeconds: parseDuration(opts.ttl) } : {}),
        ...(opts.tokenTtl ? { tokenTtlSeconds: parseDuration(opts.tokenTtl) } : {}),
        ...(opts.name ? { name: opts.name } : {}),
      };
      const r = await withClient(opts, (c) => c.post<{ code: string; scopes: string[]; expiresAt: string }>('/api/v1/pairing-codes', body));
      if (opts.json) return printJson(r);
      process.stdout.write(`${r.code}\n`);
      process.stderr.write(`pairing code for scopes ${r.scopes.join(',')}, single use, expires ${r.expiresAt}\n`);
    });
}
