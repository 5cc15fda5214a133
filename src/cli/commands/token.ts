/** `moat token create|list|revoke|rotate-admin|end-session` (the list shows console sessions too). */
import type { Command } from 'commander';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { collect, parseDuration, printJson, printTable } from '../output.js';
import type { AdminTokenRotated, TokenCreated, TokenList, TokenView } from '../../api/identity.js';
import type { SessionList } from '../../api/sessions.js';

export function tokenCommand(program: Command): void {
  const token = program.command('token').description('scoped tokens: create, list, revoke, rotate the admin token');
  addClientFlags(token.command('create').description('create a token; its secret is printed once'))
    .requiredOption('--name <name>', 'a name to recognise it by')
    .option('--scope <scope>', 'scope (repeatable): admin, read, services, jobs, hooks, tasks, tools, metrics, svc:<name>', collect)
    .option('--ttl <duration>', 'lifetime, e.g. 30d, 12h (default: no expiry)')
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { name: string; scope?: string[]; ttl?: string; json?: boolean }) => {
      const body = { name: opts.name, scopes: opts.scope ?? ['read'], ...(opts.ttl ? { ttlSeconds: parseDuration(opts.ttl) } : {}) };
      const created = await withClient(opts, (c) => c.post<TokenCreated>('/api/v1/tokens', body));
      if (opts.json) return printJson(created);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(
        `token ${created.id} (${created.name}) scopes ${created.scopes.join(',')}, expires ${created.expiresAt ?? 'never'}; the secret above is shown only once\n`,
      );
    });
  addClientFlags(token.command('list').alias('ls').description('list tokens and console sessions (never their secrets)'))
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { json?: boolean }) => {
      const { tokens, sessions } = await withClient(opts, async (c) => ({
        tokens: (await c.get<TokenList>('/api/v1/tokens')).tokens,
        sessions: (await c.get<SessionList>('/api/v1/sessions')).sessions,
      }));
      // Sessions beside tokens: one list of what can act on this gateway (kind `session`, live ones only).
      const rows: Array<TokenView & { client?: string }> = [
        ...tokens,
        ...sessions.map((s) => ({
          id: s.id,
          name: s.name,
          scopes: s.scopes,
          kind: 'session',
          createdAt: s.createdAt,
          expiresAt: s.expiresAt,
          lastUsedAt: s.lastUsedAt,
          revokedAt: null,
          client: s.client,
        })),
      ];
      if (opts.json) return printJson(rows);
      printTable(
        rows.map((t) => ({ ...t, state: t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active' })),
        ['id', 'name', 'scopes', 'state', 'expiresAt', 'lastUsedAt', 'kind', 'client'],
      );
    });
  addClientFlags(token.command('end-session').description('end a console session by id (see moat token list); its open pages return to sign-in'))
    .argument('<session-id>')
    .action(async (id: string, opts: ClientFlags) => {
      await withClient(opts, (c) => c.delete(`/api/v1/sessions/${encodeURIComponent(id)}`));
      process.stdout.write(`ended ${id}\n`);
    });
  addClientFlags(token.command('revoke').description('revoke a token by id or name; effective on its next request'))
    .argument('<id-or-name>')
    .action(async (idOrName: string, opts: ClientFlags) => {
      const t = await withClient(opts, (c) => c.delete<TokenView>(`/api/v1/tokens/${encodeURIComponent(idOrName)}`));
      process.stdout.write(`revoked ${t.id} (${t.name})\n`);
    });
  addClientFlags(token.command('rotate-admin').description('replace the admin token in <dataDir>/gateway-token; the old one stops working at once')).action(
    async (opts: ClientFlags) => {
      const r = await withClient(opts, (c) => c.post<AdminTokenRotated>('/api/v1/tokens/rotate-admin'));
      process.stdout.write(`admin token rotated; the new one is in ${r.tokenFile}\n`);
    },
  );
}
