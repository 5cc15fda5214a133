/** `moat audit tail [-f] [--json]` (through the gateway) and `moat audit verify` (the files themselves). */
import type { Command } from 'commander';
import type { MoatClient } from '../../client/index.js';
import { verifyAuditDir } from '../../gateway.js';
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

function line(e: Entry): string {
  const who = e.actor ? `${e.actor.name}(${e.actor.id})` : '-';
  const what = e.method ? `${e.method} ${e.route ?? '?'} ${e.status ?? ''}`.trim() : '';
  return `${e.seq}\t${e.ts}\t${e.type}\t${e.outcome}\t${who}\t${e.client ?? '-'}\t${what}${e.code ? `\t${e.code}` : ''}`;
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
  audit
    .command('verify')
    .description('walk the hash chain across rotated files; exit status 1 at the first broken link')
    .option('--data-dir <dir>', 'data directory (default ~/.moat, MOAT_DATA_DIR)')
    .option('--json', 'print JSON')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const { resolveDataDir } = await import('../../client/index.js');
      const dataDir = resolveDataDir(opts.dataDir ?? process.env['MOAT_DATA_DIR']);
      const result = await verifyAuditDir(dataDir);
      // A running gateway knows the newest entry: a cut or edited tail shows up against it.
      let head: { seq: number; hash: string } | undefined;
      try {
        const c = await clientFrom({ dataDir });
        head = await c.get<{ seq: number; hash: string }>('/api/v1/audit/head').finally(() => c.close());
      } catch {
        head = undefined;
      }
      const headOk = head === undefined || (head.seq === result.lastSeq && head.hash === result.lastHash) || head.seq > result.lastSeq;
      const ok = result.ok && headOk;
      if (opts.json) printJson({ ...result, ok, gatewayHead: head ?? null });
      else if (ok) {
        process.stdout.write(`audit chain ok: ${result.entries} entries in ${result.files.length} file(s), last seq ${result.lastSeq}\n`);
        if (result.partialTail) process.stdout.write(`note: ignored an incomplete last line (${result.partialTail.file}:${result.partialTail.line}), left by an unclean stop\n`);
      } else if (!result.ok && result.broken) {
        process.stdout.write(`audit chain BROKEN at ${result.broken.file}:${result.broken.line}: ${result.broken.reason}\n`);
      } else {
        process.stdout.write(`audit chain BROKEN: the last entry on disk (seq ${result.lastSeq}) does not match the running gateway's head (seq ${head?.seq}); the tail was edited or cut\n`);
      }
      process.exitCode = ok ? 0 : 1;
    });
}
