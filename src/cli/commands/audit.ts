/**
 * `moat audit tail [-f] [--json]` (through the gateway), `moat audit verify` (the files
 * themselves, with the chain key and the head anchors, against the running gateway's heads) and
 * `moat audit key` (where the chain key is, its id and the public key that checks anchors).
 */
import type { Command } from 'commander';
import type { MoatClient } from '../../client/index.js';
import { addClientFlags, clientFrom, withClient, type ClientFlags } from '../connect.js';
import { printJson } from '../output.js';
import type { AuditEntryView as Entry, AuditHead, AuditPage } from '../../api/audit.js';

/** The head of one chain. */
type Head = Omit<AuditHead, 'security'>;

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
  return values
    .map((v, i) => v.padEnd((COLUMNS[i] as [string, number])[1]))
    .join('  ')
    .trimEnd();
}

export const HEADER = row(COLUMNS.map(([name]) => name));

function line(e: Entry): string {
  const who = e.actor ? `${e.actor.name}(${e.actor.id})` : '-';
  const what = e.method ? `${e.method} ${e.route ?? '?'} ${e.status ?? ''}`.trim() : '-';
  return row([String(e.seq), e.ts, e.type, e.outcome, who, e.client ?? '-', `${what}${e.code ? ` ${e.code}` : ''}`]);
}

async function page(c: MoatClient, after: number): Promise<AuditPage> {
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
        const head = await c.get<AuditHead>('/api/v1/audit/head');
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
  keyFlags(
    addClientFlags(
      audit
        .command('verify')
        .description('walk both hash chains across rotated files with the chain key and the head anchors; exit status 1 at the first broken link'),
    ),
  )
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & KeyFlags & { json?: boolean }) => {
      const { resolveDataDir } = await import('../../client/index.js');
      const dataDir = resolveDataDir(opts.dataDir ?? process.env['MOAT_DATA_DIR']);
      const { offlineAuditPaths, verifyAuditDir } = await import('../../gateway.js');
      const paths = offlineAuditPaths(pathsInput(opts));
      // A running gateway knows its newest entries (the files cannot vouch for their own end): ask
      // it first, check that the files hold exactly those, and ask again afterwards: an entry newer
      // than anything it has written was appended by someone else.
      const flags = { ...opts, dataDir };
      const head = await runningHeads(flags);
      const result = await verifyAuditDir(dataDir, paths, head, () => runningHeads(flags));
      if (opts.json) printJson({ ...result, gatewayHead: head?.main ?? null });
      else if (result.ok) {
        const range = result.entries > 0 ? `, seq ${result.firstSeq}..${result.lastSeq}` : '';
        process.stdout.write(`audit chain ok: ${result.entries} entries in ${result.files.length} file(s)${range}\n`);
        process.stdout.write(`security log ok: ${result.security.entries} entries in ${result.security.files.length} file(s)\n`);
        if (head) process.stdout.write(`checked against the running gateway's head (seq ${head.main.seq})\n`);
        const { newest, checked } = result.anchors;
        if (newest)
          process.stdout.write(`checked against ${checked} head anchor(s) in ${result.anchorFile}, the newest for seq ${newest.seq} (${newest.ts})\n`);
        for (const n of [...result.notes, ...result.security.notes.map((n) => `security log: ${n}`)]) process.stdout.write(`note: ${n}\n`);
      } else if (result.broken) {
        process.stdout.write(`audit chain BROKEN at ${result.broken.file}:${result.broken.line}: ${result.broken.reason}\n`);
      }
      process.exitCode = result.ok ? 0 : 1;
    });
  keyCommand(audit);
}

interface KeyFlags {
  config?: string;
  auditKeyFile?: string;
  auditAnchorFile?: string;
}

function keyFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'the config file whose audit.keyFile and audit.anchorFile to use (env MOAT_CONFIG)')
    .option('--audit-key-file <path>', 'the chain key (default: as moat serve finds it; MOAT_AUDIT_KEY_FILE)')
    .option('--audit-anchor-file <path>', 'the head anchors (default: beside the key; MOAT_AUDIT_ANCHOR_FILE)');
}

/** What offlineAuditPaths needs to find the key and anchors as `moat serve` would. */
function pathsInput(opts: KeyFlags) {
  return { configFile: opts.config ?? process.env['MOAT_CONFIG'], keyFile: opts.auditKeyFile, anchorFile: opts.auditAnchorFile, env: process.env };
}

function keyCommand(audit: Command): void {
  keyFlags(audit.command('key').description('where the audit chain key is, its id, and the public key that checks head anchors'))
    .option('--create', 'create the key (0600) when there is none, as the first start would; then set its owner and mode (docs/deployment.md)')
    .option('--json', 'print JSON')
    .action(async (opts: KeyFlags & { create?: boolean; json?: boolean }) => {
      const { auditKeyInfo, offlineAuditPaths } = await import('../../gateway.js');
      const info = auditKeyInfo(offlineAuditPaths(pathsInput(opts)), opts.create === true);
      if (opts.json) printJson(info);
      else if (!info.exists) process.stdout.write(`no audit chain key at ${info.keyFile} (the first start creates it, or moat audit key --create)\n`);
      else {
        process.stdout.write(`${info.created ? 'created' : 'audit chain key'} ${info.keyFile} (key id ${info.id})\n`);
        process.stdout.write(`anchors ${info.anchorFile}, signed with the Ed25519 public key ${info.publicKey}\n`);
        process.stdout.write('back the key file up: without it the log can no longer be checked (docs/deployment.md)\n');
      }
      process.exitCode = info.exists ? 0 : 1;
    });
}

/** The heads of the gateway serving the data dir, or undefined when none answers. */
async function runningHeads(flags: ClientFlags): Promise<{ main: Head; security: Head } | undefined> {
  let c: MoatClient | undefined;
  try {
    c = await clientFrom(flags);
    const { seq, hash, security } = await c.get<AuditHead>('/api/v1/audit/head');
    return { main: { seq, hash }, security: security ?? { seq: 0, hash: '' } };
  } catch {
    return undefined;
  } finally {
    await c?.close().catch(() => undefined);
  }
}
