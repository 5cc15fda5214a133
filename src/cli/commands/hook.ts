/** `moat hook ls|add|rm|test`: inbound hooks. Secrets go in, never come out; `test` signs a sample with a secret you give it. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { VERIFY_SCHEMES, type HookDelivered, type HookList, type HookView, type VerifyScheme } from '../../api/hooks.js';
import { sampleBody, signDelivery } from '../../client/hook-signing.js';
import { ClientError } from '../../client/index.js';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { CliUsageError, printJson, printTable } from '../output.js';

/** `--secret-file <path>` (or `-` for stdin), else `--secret <s>`: files keep the secret out of the process list. */
function readSecret(opts: { secret?: string; secretFile?: string }): string | undefined {
  if (opts.secretFile !== undefined) return readFileSync(opts.secretFile === '-' ? 0 : opts.secretFile, 'utf8').replace(/\r?\n$/, '');
  return opts.secret;
}

/** `'{"a":1}'` or `@file.json` (or `@-` for stdin), as text. */
function readText(arg: string): string {
  return arg.startsWith('@') ? readFileSync(arg === '@-' ? 0 : arg.slice(1), 'utf8') : arg;
}

function parseJson(arg: string | undefined, flag: string): unknown {
  if (arg === undefined) return undefined;
  try {
    return JSON.parse(readText(arg));
  } catch (err) {
    throw new CliUsageError(`${flag} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The URL a sender posts to: the gateway's URL and the hook's path. */
function absolute(base: string, path: string): string {
  return /^https?:\/\//.test(path) ? path : `${base.replace(/\/$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}

function describeAction(a: HookView['action']): string {
  if (a.type === 'job') return `job -> ${a.service}`;
  return `task "${a.title}"${a.job ? ` (+ job -> ${a.job.service})` : ''}`;
}

export function hookCommand(program: Command): void {
  const hook = program.command('hook').description('signed inbound webhooks: list, add, remove, send a signed test delivery');
  addClientFlags(hook.command('ls').description('list hooks (secrets show as set/unset)'))
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { json?: boolean }) => {
      const { hooks, base } = await withClient(opts, async (c) => ({ ...(await c.get<HookList>('/api/v1/hooks')), base: c.url }));
      if (opts.json) return printJson(hooks);
      printTable(
        hooks.map((h) => ({ ...h, action: describeAction(h.action), url: absolute(base, h.url) })),
        ['name', 'verify', 'secret', 'action', 'source', 'url'],
      );
    });
  addClientFlags(hook.command('add').description('register a hook: deliveries to /hooks/<name> become a job or a task'))
    .argument('<name>')
    .requiredOption('--verify <scheme>', `signature scheme: ${VERIFY_SCHEMES.join(', ')}`)
    .option('--secret <secret>', 'signing secret (visible in the process list; prefer --secret-file)')
    .option('--secret-file <path>', 'read the signing secret from a file, or - for stdin')
    .option('--verify-token <token>', 'WhatsApp: verify token of the subscription handshake')
    .option('--job <service>', 'submit a job to this service (with --task: the job waits for approval)')
    .option('--payload <json|@file>', 'job payload template, e.g. \'{"ref":"{body.ref}"}\'')
    .option('--task <title>', 'create a task with this title template')
    .option('--body <text>', 'task body template')
    .option('--max-body-bytes <n>', 'body cap of this hook')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        opts: ClientFlags & {
          verify: string;
          secret?: string;
          secretFile?: string;
          verifyToken?: string;
          job?: string;
          payload?: string;
          task?: string;
          body?: string;
          maxBodyBytes?: string;
          json?: boolean;
        },
      ) => {
        if (!(VERIFY_SCHEMES as readonly string[]).includes(opts.verify)) throw new CliUsageError(`--verify must be one of ${VERIFY_SCHEMES.join(', ')}`);
        if (opts.job === undefined && opts.task === undefined) throw new CliUsageError('give --job <service>, --task <title>, or both');
        const secret = readSecret(opts);
        if (secret === undefined) process.stderr.write('warning: no secret given: every delivery to this hook will be refused\n');
        const payload = parseJson(opts.payload, '--payload');
        const job = opts.job === undefined ? undefined : { service: opts.job, ...(payload === undefined ? {} : { payload }) };
        const action =
          opts.task !== undefined
            ? { type: 'task', title: opts.task, ...(opts.body !== undefined ? { body: opts.body } : {}), ...(job ? { job } : {}) }
            : { type: 'job', ...job };
        const body = {
          name,
          verify: opts.verify,
          action,
          ...(secret !== undefined ? { secret } : {}),
          ...(opts.verifyToken !== undefined ? { verifyToken: opts.verifyToken } : {}),
          ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: Number(opts.maxBodyBytes) } : {}),
        };
        const { h, base } = await withClient(opts, async (c) => ({ h: await c.post<HookView>('/api/v1/hooks', body), base: c.url }));
        if (opts.json) return printJson(h);
        // The full URL the sender is given (the API answers with the path).
        process.stdout.write(`${h.name} ${h.verify} ${describeAction(h.action)}: POST ${absolute(base, h.url)}\n`);
      },
    );
  addClientFlags(hook.command('rm').description('remove a hook registered through the API'))
    .argument('<name>')
    .action(async (name: string, opts: ClientFlags) => {
      await withClient(opts, (c) => c.delete(`/api/v1/hooks/${encodeURIComponent(name)}`));
      process.stdout.write(`${name} removed\n`);
    });
  addClientFlags(
    hook.command('test').description('send a correctly signed sample delivery to /hooks/<name> (the secret is write-only in the API: give it here)'),
  )
    .argument('<name>')
    .option('--secret <secret>', "the hook's secret (visible in the process list; prefer --secret-file)")
    .option('--secret-file <path>', 'read the secret from a file, or - for stdin')
    .option('--verify <scheme>', 'the scheme, when this token may not read the hook (default: asked from the gateway)')
    .option('--body <json|@file>', "the body to send (default: a sample shaped like the sender's)")
    .option('--content-type <type>', 'Content-Type of --body', 'application/json')
    .option('--delivery-id <id>', 'delivery id to send (resend it to see deduplication)')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        opts: ClientFlags & { secret?: string; secretFile?: string; verify?: string; body?: string; contentType: string; deliveryId?: string; json?: boolean },
      ) => {
        const secret = readSecret(opts);
        if (secret === undefined) throw new CliUsageError("give the hook's secret with --secret-file <path> or --secret <secret>");
        await withClient(opts, async (c) => {
          const scheme = (opts.verify ?? (await c.get<HookView>(`/api/v1/hooks/${encodeURIComponent(name)}`)).verify) as VerifyScheme;
          if (!(VERIFY_SCHEMES as readonly string[]).includes(scheme)) throw new CliUsageError(`--verify must be one of ${VERIFY_SCHEMES.join(', ')}`);
          const now = Math.floor(Date.now() / 1000);
          const sample = opts.body === undefined ? sampleBody(scheme, now) : { body: readText(opts.body), contentType: opts.contentType };
          const headers = signDelivery(scheme, secret, sample.body, now, opts.deliveryId);
          try {
            const res = await c.request<HookDelivered>('POST', `/hooks/${encodeURIComponent(name)}`, { raw: sample, headers, auth: false });
            if (opts.json) return printJson({ status: res.status, ...res.body });
            const r = res.body;
            process.stdout.write(
              `${res.status} ${r.duplicate ? 'duplicate (nothing done)' : 'accepted'}${r.job ? ` job ${r.job}` : ''}${r.task ? ` task ${r.task}` : ''}\n`,
            );
          } catch (err) {
            if (err instanceof ClientError && err.code === 'signature_invalid')
              throw new ClientError(err.code, err.status, `${err.detail} (is --secret the hook's secret?)`);
            throw err;
          }
        });
      },
    );
}
