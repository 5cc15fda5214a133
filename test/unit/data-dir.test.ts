/**
 * The one table of the data dir (src/api/data-dir.ts), like the error table: every entry in
 * docs/deployment.md with its mode and every documented path in the table; the files moat writes
 * get the table's modes; no other source file spells a data-dir name.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_DIR, KEY_MODE, ROTATED_AUDIT_MODE, dataDirPaths, type DataDirName } from '../../src/api/data-dir.js';
import { loadOrCreateAdminToken } from '../../src/domain/identity/admin-token.js';
import { reissueSelfSigned } from '../../src/http/tls.js';
import { loadOrCreateInstallId, loadOrCreateKey } from '../../src/store/files.js';

const doc = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
const NAMES = Object.keys(DATA_DIR) as DataDirName[];
const octal = (mode: number) => `0${mode.toString(8)}`;

/** `path -> mode` of the "Files and modes" table of docs/deployment.md. */
function documented(): Map<string, string> {
  const start = doc.indexOf('| path | mode | what |');
  const rows = doc.slice(start).split('\n\n')[0]!.split('\n').slice(2);
  return new Map(rows.map((r) => [/^\| `([^`]+)`/.exec(r)![1]!, / \| (0\d{3}) \| /.exec(r)![1]!]));
}
const docPath = (name: DataDirName) => {
  const e = DATA_DIR[name];
  return e.rel === '.' ? '<dataDir>/' : e.kind === 'dir' ? `${e.rel}/` : e.rel;
};

describe('data dir table', () => {
  it.each(NAMES)('documents %s in docs/deployment.md with its mode', (name) => {
    expect(documented().get(docPath(name))).toBe(octal(DATA_DIR[name].mode));
  });

  it('documents no path the table does not have (besides the patterns of keys and closed audit files)', () => {
    const known = new Set(NAMES.map(docPath));
    const patterns = new Map([
      ['keys/*.key', octal(KEY_MODE)],
      ['audit/**/audit-*.jsonl', octal(ROTATED_AUDIT_MODE)],
    ]);
    for (const [path, mode] of documented()) {
      if (patterns.has(path)) expect(mode, path).toBe(patterns.get(path));
      else expect(known.has(path), `${path} is in docs/deployment.md but not in src/api/data-dir.ts`).toBe(true);
    }
  });

  it('keeps every secret and every directory closed to group and others', () => {
    for (const name of NAMES) {
      const e = DATA_DIR[name];
      if (e.secret || e.kind === 'dir') expect(e.mode & 0o077, name).toBe(0);
      expect(e.mode & 0o022, `${name} writable by others`).toBe(0);
    }
  });

  it('names every path inside the data dir', () => {
    const paths = dataDirPaths('/var/lib/moat');
    for (const name of NAMES) expect(relative('/var/lib/moat', paths[name]).startsWith('..'), name).toBe(false);
    expect(paths.key('jobs')).toBe('/var/lib/moat/keys/jobs.key');
    expect(paths.securityAuditFile).toBe('/var/lib/moat/audit/security/audit.jsonl');
  });
});

describe('the files moat writes have the table modes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-datadir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const paths = dataDirPaths(dir);
  const modeOf = (p: string) => statSync(p).mode & 0o777;

  it('as created: admin token, install id, a key, the self-signed certificate and key', () => {
    loadOrCreateAdminToken(dir);
    loadOrCreateInstallId(dir);
    loadOrCreateKey(dir, 'jobs');
    reissueSelfSigned(dir, ['localhost']);
    for (const name of ['adminToken', 'installId', 'keysDir', 'tlsDir', 'tlsCert', 'tlsKey'] as const)
      expect(octal(modeOf(paths[name])), name).toBe(octal(DATA_DIR[name].mode));
    expect(octal(modeOf(paths.key('jobs')))).toBe(octal(KEY_MODE));
  });
});

describe('no data-dir name spelled outside the table', () => {
  const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
  const files = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : n.endsWith('.ts') ? [join(d, n)] : []));
  /** A file name of the data dir as a string literal, or a directory of it joined onto a path. */
  const SPELLED =
    /'(gateway-token|gateway\.json|moat\.db|config\.runtime\.json|moat\.json|install-id|cert\.pem|key\.pem|audit\.jsonl)'|join\([^)]*'(audit|tls|keys|workspaces|security)'/;
  it('only src/api/data-dir.ts names the files of the data dir', () => {
    const code = (t: string) => t.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const hits = files(SRC)
      .map((f) => relative(SRC, f))
      .filter((rel) => rel !== join('api', 'data-dir.ts'))
      .filter((rel) => SPELLED.test(code(readFileSync(join(SRC, rel), 'utf8'))));
    expect(hits).toEqual([]);
  });
});
