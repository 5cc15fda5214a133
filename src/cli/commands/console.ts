/**
 * `moat console`: a one-time sign-in link to the browser console, printed and drawn as a QR code in
 * the terminal. The link holds a short-lived, single-use code (never a token, never a session): the
 * page trades it for a session cookie once. Needs the admin token like every command.
 */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { collect, parseDuration, printJson } from '../output.js';
import type { ConsoleCodeMinted } from '../../api/identity.js';

/** The QR code of `text` as terminal text (two modules per character row); uqr is loaded on use. */
export async function terminalQr(text: string): Promise<string> {
  const { renderUnicodeCompact } = await import('uqr');
  return renderUnicodeCompact(text, { border: 2 });
}

export function consoleCommand(program: Command): void {
  addClientFlags(program.command('console').description('print a one-time sign-in link to the browser console, and its QR code'))
    .option('--scope <scope>', 'scope the session gets (repeatable; default admin: you asked for it at the machine)', collect)
    .option('--ttl <duration>', 'how long the link is valid (default 5m)', '5m')
    .option('--name <name>', 'name of the session it makes (shown in moat token list)')
    .option('--no-qr', 'print the link only')
    .option('--json', 'print JSON (no QR code)')
    .action(async (opts: ClientFlags & { scope?: string[]; ttl: string; name?: string; qr: boolean; json?: boolean }) => {
      const body = { scopes: opts.scope ?? ['admin'], console: true, ttlSeconds: parseDuration(opts.ttl), ...(opts.name ? { name: opts.name } : {}) };
      const m = await withClient(opts, (c) => c.post<ConsoleCodeMinted>('/api/v1/pairing-codes', body));
      if (opts.json) return printJson({ signinUrl: m.signinUrl, id: m.id, scopes: m.scopes, expiresAt: m.expiresAt });
      process.stdout.write(`${m.signinUrl}\n`);
      const lines = [
        `single-use sign-in link for scopes ${m.scopes.join(',')}, expires ${m.expiresAt}`,
        'open it in a browser on this machine, or scan the QR code with a phone that reaches this address:',
      ];
      if (opts.qr) lines.push(await terminalQr(m.signinUrl));
      if (m.code !== null) lines.push(`or type ${m.code} on the sign-in page (${m.signinUrl.slice(0, m.signinUrl.indexOf('#'))})`);
      lines.push('it holds a code, not a token: once used or expired it is worth nothing');
      process.stderr.write(`${lines.join('\n')}\n`);
    });
}
