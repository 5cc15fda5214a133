/** `moat pair`: mint a single-use 6-digit pairing code for a phone or a teammate. */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { curlCommand } from '../hints.js';
import { collect, parseDuration, printJson } from '../output.js';
import type { PairingCodeMinted } from '../../api/identity.js';

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
      const { r, url, dataDir } = await withClient(opts, async (c) => ({
        r: await c.post<PairingCodeMinted>('/api/v1/pairing-codes', body),
        url: c.url,
        dataDir: c.dataDir,
      }));
      if (opts.json) return printJson({ ...r, redeemUrl: `${url}/api/v1/pair` });
      process.stdout.write(`${r.code}\n`);
      process.stderr.write(
        [
          `pairing code for scopes ${r.scopes.join(',')}, single use, expires ${r.expiresAt}`,
          `the device redeems it once with POST ${url}/api/v1/pair (header X-Pairing-Code) and gets its token:`,
          `  ${curlCommand(url, '/api/v1/pair', { method: 'POST', headers: { 'X-Pairing-Code': r.code }, dataDir })}`,
        ].join('\n') + '\n',
      );
    });
}
