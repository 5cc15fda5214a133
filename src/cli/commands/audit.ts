/** `moat audit tail [-f] [--json]` (through the gateway) and `moat audit verify` (the files themselves). */
import type { Command } from 'commander';
import type { MoatClient } from '../../client/index.js';
import { addClientFlags, clientFrom, withClient, type ClientFlags } from '../connect.js';
import { printJson } from '../output.js';

interface Entry {
  seq: number;
  ts: string;
  type: string;
  outcome: string;
  actor?: { id: string; name: string };
  client?: string;
  method?: string;
  route?: string;
  status?: number;
  code?: string;
}

/** Columns of `audit tail` for people: fixed widths so that a followed log stays aligned under its header. */
const COLUMNS: ReadonlyArray<[string, number]> = [
  ['SEQ', 6],
  ['TIME', 24],
  ['TYPE', 22],
  ['OUTCOME', 7],
  ['ACTOR', 22],
  ['CLIENT', 15],
  ['REQUEST', 0],
];

function row(values: readonly string[]): string {
  return values.map((v, i) => v.padEnd((COLUMNS[i] as [string, number])[1])).join('  ').trimEnd();
}

export const HEADER = row(COLUMNS.map(([name]) => name));

function line(e: Entry): string {
  const who = e.actor ? `${e.actor.name}(${e.actor.id})` : '-';
  const what = e.method ? `${e.method} ${e.route ?? '?'} ${e.status ?? ''}`.trim() : '-';
  return row([String(e.seq), e.ts, e.type, e.outcome, who, e.client ?? '-', `${what}${e.code ? ` ${e.code}` : ''}`]);
}

async function page(c: MoatClient, after: number): Promise<{ entries: Entry[]; next: number | null }> {
  return c.get(`/api/v1/audit?after=${after}&limit=1000`);
}

export function auditCommand(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  addClientFlags(audit.command('tail').description('print the newest entries'))
    .option('-n, --lines <n>', 'entries to print', '20')
    .option('-f, --follow', 'keep printing new entries')
    .option('--json', 'one JSON object per line')
    .action(async (opts: ClientFlags & { lines: string; follow?: boolean; json?: boolean }) => {
      await withClient(opts, async (c) => {
        const head = await c.get<{ seq: number }>('/api/v1/audit/head');
        let after = Math.max(0, head.seq - Number(opts.lines));
        const print = (e: Entry) => process.stdout.write(`${opts.json ? JSON.stringify(e) : line(e)}\n`);
        if (!opts.json) process.stdout.write(`${HEADER}\n`);
        for (;;) {
          const { entries } = await page(c, after);
          for (const e of entries) print(e);
          if (entries.length > 0) after = (entries[entries.length - 1] as Entry).seq;
          if (!opts.follow) {
            if (entries.length < 1000) return;
            continue;
          }
          if (entries.length < 1000) await new Promise((r) => setTimeout(r, 1000));
        }
      });
    });
  addClientFlags(audit.command('verify').description('walk the hash chain across rotated files; exit status 1 at the first broken link'))
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { json?: boolean }) => {
      const { resolveDataDir } = await import('../../client/index.js');
      const dataDir = resolveDataDir(opts.dataDir ?? process.env['MOAT_DATA_DIR']);
      // A running gateway knows its newest entry (the files cannot vouch for their own end): ask it
      // first, then check that the files hold exactly that entry.
      const head = await runningHead({ ...opts, dataDir });
      const { verifyAuditDir } = await import('../../gateway.js');
      const result = await verifyAuditDir(dataDir, head);
      if (opts.json) printJson({ ...result, gatewayHead: head ?? null });
      else if (result.ok) {
        const range = result.entries > 0 ? `, seq ${result.firstSeq}..${result.lastSeq}` : '';
        process.stdout.write(`audit chain ok: ${result.entries} entries in ${result.files.length} file(s)${range}\n`);
        if (head) process.stdout.write(`checked against the running gateway's head (seq ${head.seq})\n`);
        for (const n of result.notes) process.stdout.write(`note: ${n}\n`);
      } else if (result.broken) {
        process.stdout.write(`audit chain BROKEN at ${result.broken.file}:${result.broken.line}: ${result.broken.reason}\n`);
      }
      process.exitCode = result.ok ? 0 : 1;
    });
}

/** The head of the gateway serving the data dir, or undefined when none answers. */
async function runningHead(flags: ClientFlags): Promise<{ seq: number; hash: string } | undefined> {
  let c: MoatClient | undefined;
  try {
    c = await clientFrom(flags);
    return await c.get<{ seq: number; hash: string }>('/api/v1/audit/head');
  } catch {
    return undefined;
  } finally {
    await c?.close().catch(() => undefined);
  }
}
