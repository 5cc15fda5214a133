/**
 * `moat pair`: mint a single-use 6-digit pairing code for a phone or a teammate; with `--console`,
 * a code typed on the console's sign-in page (a browser session instead of a token).
 */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { curlCommand } from '../hints.js';
import { collect, parseDuration, printJson } from '../output.js';
import type { ConsoleCodeMinted, PairingCodeMinted } from '../../api/identity.js';

export function pairCommand(program: Command): void {
  addClientFlags(program.command('pair').description('print a pairing code; the device sends it as X-Pairing-Code to POST /api/v1/pair'))
    .option('--scope <scope>', 'scope the paired token gets (repeatable; default read)', collect)
    .option('--ttl <duration>', 'how long the code is valid (default 5m)')
    .option('--token-ttl <duration>', 'lifetime of the token it creates (default: no expiry)')
    .option('--name <name>', 'name of the token it creates')
    .option('--console', 'a code for the browser console: typed on its sign-in page, it makes a session (not a token)')
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { scope?: string[]; ttl?: string; tokenTtl?: string; name?: string; console?: boolean; json?: boolean }) => {
      const body = {
        scopes: opts.scope ?? ['read'],
        ...(opts.ttl ? { ttlSeconds: parseDuration(opts.ttl) } : {}),
        ...(opts.tokenTtl ? { tokenTtlSeconds: parseDuration(opts.tokenTtl) } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.console ? { console: true } : {}),
      };
      if (opts.console) return pairConsole(opts, body);
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
          `  ${curlCommand(url, '/api/v1/pair', { method: 'POST', headers: { 'X-Pairing-Code': r.code ?? '' }, dataDir })}`,
        ].join('\n') + '\n',
      );
    });
}

/** `moat pair --console`: the digits on stdout (the sign-in link too, on stderr, for a device that can open it). */
async function pairConsole(opts: ClientFlags & { json?: boolean }, body: Record<string, unknown>): Promise<void> {
  const r = await withClient(opts, (c) => c.post<ConsoleCodeMinted>('/api/v1/pairing-codes', body));
  if (opts.json) return printJson(r);
  const page = r.signinUrl.slice(0, r.signinUrl.indexOf('#'));
  if (r.code === null) {
    // An admin console code has no digits (6 digits never carry admin): the link is the code.
    process.stdout.write(`${r.signinUrl}\n`);
    process.stderr.write(
      `console sign-in link for scopes ${r.scopes.join(',')} (no digits: admin is never given by 6 digits), single use, expires ${r.expiresAt}\n`,
    );
    return;
  }
  process.stdout.write(`${r.code}\n`);
  process.stderr.write(
    [
      `console sign-in code for scopes ${r.scopes.join(',')}, single use, expires ${r.expiresAt}`,
      `type it on the sign-in page of ${page} on the other device, or open the link there (using either burns both):`,
      `  ${r.signinUrl}`,
    ].join('\n') + '\n',
  );
}
