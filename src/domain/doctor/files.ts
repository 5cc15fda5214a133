/**
 * Doctor checks of file modes in the data dir (0700 directories, 0600 secrets, read-only rotated
 * audit files): gathering the modes, judging them, and the one repair that is always safe (chmod
 * back to the expected mode). A backup restore or a careless copy widens them; nothing else here.
 */
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isKeyText, KEY_USES } from '../../store/files.js';
import { DATA_DIR, KEY_FILE, KEY_MODE, ROTATED_AUDIT, ROTATED_AUDIT_MODE, dataDirPaths, type DataDirName } from '../../api/data-dir.js';
import type { Check, DoctorContext, Finding, FixAction, ModeFact } from './types.js';

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}

function list(dir: string, match: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => match.test(n))
      .sort();
  } catch {
    return [];
  }
}

/** Which doctor check judges each entry of the data dir (src/api/data-dir.ts), in the order they are reported. */
const CHECKED: ReadonlyArray<readonly [string, DataDirName]> = [
  ['mode.data-dir', 'root'],
  ['mode.data-dir', 'gatewayFile'],
  ['mode.data-dir', 'workspaces'],
  ['mode.token-file', 'adminToken'],
  ['mode.tls', 'tlsDir'],
  ['mode.tls', 'tlsKey'],
  ['mode.database', 'database'],
  ['mode.database', 'databaseWal'],
  ['mode.database', 'databaseShm'],
  ['mode.audit', 'auditDir'],
  ['mode.audit', 'auditFile'],
  ['mode.audit', 'securityAuditDir'],
  ['mode.audit', 'securityAuditFile'],
  ['mode.keys', 'keysDir'],
];

/** Every path whose mode the doctor judges, with its expected mode. `tlsKey`: an operator key outside the data dir. */
export function gatherModes(dataDir: string, tlsKey?: string): ModeFact[] {
  const facts: ModeFact[] = [];
  const add = (check: string, label: string, path: string, kind: 'dir' | 'file', expected: number, secret: boolean, fixable = true) =>
    facts.push({ check, label, path, kind, mode: modeOf(path), expected, secret, fixable });
  const paths = dataDirPaths(dataDir);
  const at = (rel: string) => join(dataDir, rel);
  for (const [check, name] of CHECKED) {
    const e = DATA_DIR[name];
    add(check, e.kind === 'dir' && e.rel !== '.' ? `${e.rel}/` : e.rel, paths[name], e.kind, e.mode, e.secret);
    if (name === 'tlsKey' && tlsKey !== undefined) add('mode.tls', tlsKey, tlsKey, 'file', 0o640, true, false);
    // Closed audit files: read-only for good.
    if (name === 'auditFile' || name === 'securityAuditFile') {
      const dir = name === 'auditFile' ? DATA_DIR.auditDir.rel : DATA_DIR.securityAuditDir.rel;
      for (const file of list(at(dir), ROTATED_AUDIT)) add('mode.audit', `${dir}/${file}`, at(`${dir}/${file}`), 'file', ROTATED_AUDIT_MODE, false);
    }
  }
  for (const file of list(paths.keysDir, KEY_FILE)) add('mode.keys', `${DATA_DIR.keysDir.rel}/${file}`, join(paths.keysDir, file), 'file', KEY_MODE, true);
  return facts.filter((f) => f.mode !== null || f.path === dataDir);
}

/**
 * Group and other bits beyond the expected mode. Writable by others is a fail anywhere (files can be
 * replaced or forged); readable by others is a fail for a secret and a warning otherwise.
 */
function judge(f: ModeFact): 'ok' | 'warn' | 'fail' {
  if (f.mode === null) return 'ok';
  const extra = f.mode & ~f.expected & 0o077;
  if (extra === 0) return 'ok';
  if (extra & 0o022 || f.secret) return 'fail';
  return 'warn';
}

const WHAT: Record<string, string> = {
  'mode.data-dir': 'the data dir',
  'mode.token-file': 'the admin token file',
  'mode.tls': 'the TLS key',
  'mode.database': 'the database',
  'mode.audit': 'the audit log',
  'mode.keys': 'the per-install keys',
};

function modeCheck(id: string): Check {
  return {
    id,
    needs: 'files',
    run(ctx: DoctorContext): Omit<Finding, 'id'> {
      const facts = ctx.modes.filter((f) => f.check === id);
      if (id === 'mode.data-dir' && !ctx.dataDirExists) {
        return {
          severity: 'warn',
          finding: `the data dir ${ctx.dataDir} does not exist`,
          fix: 'check --data-dir (MOAT_DATA_DIR); moat serve creates it with mode 0700',
        };
      }
      const wide = facts.filter((f) => judge(f) !== 'ok');
      if (facts.length === 0) return { severity: 'ok', finding: `${WHAT[id]}: nothing there yet`, fix: 'none needed' };
      if (wide.length === 0)
        return { severity: 'ok', finding: `${WHAT[id]}: ${facts.map((f) => `${f.label} ${octal(f.mode as number)}`).join(', ')}`, fix: 'none needed' };
      const severity = wide.some((f) => judge(f) === 'fail') ? 'fail' : 'warn';
      const shown = wide.map((f) => `${f.label} is ${octal(f.mode as number)} (want ${octal(f.expected)})`).join(', ');
      const fixable = wide.every((f) => f.fixable);
      const outside = wide.filter((f) => !f.fixable).map((f) => f.label);
      const fix = fixable
        ? `moat doctor --fix (chmod ${wide.map((f) => `${octal(f.expected)} ${f.label}`).join(', ')})`
        : `chmod go-rwx ${outside.join(' ')} yourself (it is outside the data dir)${wide.length > outside.length ? '; moat doctor --fix repairs the rest' : ''}`;
      const leak = id === 'mode.token-file' && severity === 'fail' ? '; whoever read it holds admin: rotate it after fixing (moat token rotate-admin)' : '';
      return { severity, finding: `${WHAT[id]} is open to others: ${shown}${leak}`, fix, fixable };
    },
  };
}

/** A damaged key file stops the boot; it is never replaced, since what the old key sealed would be lost. */
const keysCheck: Check = {
  id: 'keys.valid',
  needs: 'files',
  run(ctx: DoctorContext): Omit<Finding, 'id'> {
    const dir = dataDirPaths(ctx.dataDir).keysDir;
    const names = list(dir, KEY_FILE);
    const damaged = names.filter((n) => {
      try {
        return !isKeyText(readFileSync(join(dir, n), 'utf8').trim());
      } catch {
        return true;
      }
    });
    if (damaged.length === 0)
      return {
        severity: 'ok',
        finding: names.length === 0 ? 'no keys yet (made at the first start)' : `${names.length} keys, each 32 bytes`,
        fix: 'none needed',
      };
    const lost = damaged.map((n) => KEY_USES[n.replace(/\.key$/, '')] ?? 'its data').join('; ');
    return {
      severity: 'fail',
      finding: `not a key: ${damaged.map((n) => `keys/${n}`).join(', ')}; the gateway does not start with it`,
      fix: `restore it from a backup (deleting it makes a new key, and loses ${lost})`,
      fixable: false,
    };
  },
};

export const fileChecks: Check[] = [...['mode.data-dir', 'mode.token-file', 'mode.tls', 'mode.database', 'mode.audit', 'mode.keys'].map(modeCheck), keysCheck];

/** chmod every path that is wider than expected back to its expected mode (data dir only). */
export function repairModes(ctx: DoctorContext): FixAction[] {
  const actions: FixAction[] = [];
  for (const f of ctx.modes) {
    if (!f.fixable || judge(f) === 'ok') continue;
    try {
      chmodSync(f.path, f.expected);
      actions.push({ id: f.check, action: `chmod ${octal(f.expected)} ${f.label} (was ${octal(f.mode as number)})`, ok: true });
    } catch (err) {
      actions.push({ id: f.check, action: `could not chmod ${f.label}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, ok: false });
    }
  }
  return actions;
}
