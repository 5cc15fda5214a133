/**
 * `moat doctor [--json] [--fix]`: asks the running gateway (GET /api/v1/doctor, POST
 * /api/v1/doctor/fix); with none answering, checks (and repairs) the data dir alone through
 * gateway.ts and says which checks needed a running gateway. Exit status 0 ok, 1 warnings, 2 failures.
 */
import type { Command } from 'commander';
import { addClientFlags, clientFrom, type ClientFlags } from '../connect.js';
import { printJson } from '../output.js';
import type { DoctorFixReport as FixResult, DoctorReport as Report, Severity } from '../../api/gateway.js';

const EXIT: Record<Severity, number> = { ok: 0, warn: 1, fail: 2 };

/** Codes that mean "no gateway to ask" (or one that will not answer us): fall back to the data dir. */
const OFFLINE_CODES = new Set([
  'gateway_not_found',
  'gateway_unreachable',
  'token_invalid',
  'auth_required',
  'tls_fingerprint_unknown',
  'tls_fingerprint_mismatch',
]);

/** The gateway's answer, or why it could not be had. */
async function ask(flags: ClientFlags, fix: boolean): Promise<{ result: FixResult; url: string } | { offline: string }> {
  let client: Awaited<ReturnType<typeof clientFrom>>;
  try {
    client = await clientFrom(flags);
  } catch (err) {
    const e = err as { code?: string; detail?: string };
    if (e.code && OFFLINE_CODES.has(e.code)) return { offline: 'no gateway is running on this data dir' };
    throw err;
  }
  try {
    const result = fix ? await client.post<FixResult>('/api/v1/doctor/fix') : { actions: [], report: await client.get<Report>('/api/v1/doctor') };
    return { result, url: client.url };
  } catch (err) {
    const e = err as { code?: string; detail?: string };
    if (e.code === 'gateway_unreachable') return { offline: `the gateway in gateway.json (${client.url}) does not answer` };
    if (e.code && OFFLINE_CODES.has(e.code)) {
      return {
        offline: `the gateway at ${client.url} refused the token (${e.code}): is gateway-token damaged? pass an admin token with --token to check through the gateway`,
      };
    }
    throw err;
  } finally {
    await client.close();
  }
}

function print(result: FixResult, where: string, fix: boolean): void {
  const { report, actions } = result;
  const out: string[] = [`moat doctor: ${report.verdict.toUpperCase()} (${where})`];
  const width = Math.max(...report.checks.map((c) => c.id.length));
  for (const c of report.checks) {
    out.push(`${c.severity.padEnd(4)}  ${c.id.padEnd(width)}  ${c.finding}`);
    if (c.severity !== 'ok') out.push(`${' '.repeat(width + 8)}fix: ${c.fix}${c.fixable && !fix ? ' (moat doctor --fix repairs it)' : ''}`);
  }
  if (report.skipped.length > 0) {
    out.push(`not checked (they need a running gateway): ${report.skipped.map((s) => s.id).join(', ')}`);
  }
  if (fix) {
    if (actions.length === 0) out.push('nothing to repair');
    for (const a of actions) out.push(`${a.ok ? 'fixed' : 'FAILED'}  ${a.id}: ${a.action}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function doctorCommand(program: Command): void {
  addClientFlags(program.command('doctor').description("check the gateway's security posture (exit status 0 ok, 1 warnings, 2 failures)"))
    .option('--json', 'print JSON')
    .option('--fix', 'repair what is safe to repair (file modes, a malformed token file, an expiring self-signed certificate) and list what was done')
    .action(async (opts: ClientFlags & { json?: boolean; fix?: boolean }) => {
      const fix = opts.fix === true;
      const answer = await ask(opts, fix);
      let result: FixResult;
      let where: string;
      let offline: string | null = null;
      if ('result' in answer) {
        result = answer.result;
        where = `gateway at ${answer.url}`;
      } else {
        const { resolveDataDir } = await import('../../client/index.js');
        const { doctorOffline, offlineAuditPaths } = await import('../../gateway.js');
        const dataDir = resolveDataDir(opts.dataDir ?? process.env['MOAT_DATA_DIR']);
        result = await doctorOffline(dataDir, { fix, auditPaths: offlineAuditPaths({ configFile: process.env['MOAT_CONFIG'], env: process.env }) });
        offline = answer.offline;
        where = `data dir ${dataDir} only: ${offline}`;
      }
      if (opts.json) printJson({ ...result.report, ...(fix ? { actions: result.actions } : {}), ...(offline !== null ? { offline } : {}) });
      else print(result, where, fix);
      process.exitCode = EXIT[result.report.verdict];
    });
}
