/**
 * The one table of audit event types (src/audit/types.ts), like the error table: every type
 * documented in docs/audit.md and every documented type in the table; its security and refusal
 * columns are the lists docs/audit.md gives; every type is written somewhere in src/.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.js';
import { isSecurityEvent } from '../../src/audit/security-events.js';
import { AUDIT_TYPES, isAuditType, type AuditType } from '../../src/audit/types.js';
import { RESTORED_AUDIT_TYPES } from '../../src/observe/counters.js';

const doc = readFileSync(new URL('../../docs/audit.md', import.meta.url), 'utf8');
const TYPES = Object.keys(AUDIT_TYPES) as AuditType[];
const dotted = (text: string) => [...text.matchAll(/`([a-z_]+\.[a-z_]+)`/g)].map((m) => m[1] as string);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** The first cell of every row of the `| type | when |` table. */
function documentedTypes(): { types: string[]; cells: string[] } {
  const start = doc.indexOf('| type | when |');
  const rows = doc.slice(start).split('\n\n')[0]!.split('\n').slice(2);
  const cells = rows.map((r) => r.split(' | ')[0]!.replace(/^\| /, ''));
  return { types: cells.flatMap(dotted), cells };
}

/** The backticked types between two phrases of the page. */
function listBetween(from: string, to: string): string[] {
  const a = doc.indexOf(from);
  const b = doc.indexOf(to, a);
  expect(a, `docs/audit.md says ${JSON.stringify(from)}`).toBeGreaterThanOrEqual(0);
  expect(b, `docs/audit.md says ${JSON.stringify(to)} after it`).toBeGreaterThan(a);
  return dotted(doc.slice(a, b));
}

describe('audit type table', () => {
  it('names types as lowercase dotted words', () => {
    for (const t of TYPES) expect(t).toMatch(/^[a-z]+\.[a-z_]+$/);
  });

  it('documents every type in docs/audit.md, and documents no type the table does not have', () => {
    const { types } = documentedTypes();
    expect(
      sorted(TYPES).filter((t) => !types.includes(t)),
      'in the table, not in docs/audit.md',
    ).toEqual([]);
    expect(
      sorted(types).filter((t) => !isAuditType(t)),
      'in docs/audit.md, not in the table',
    ).toEqual([]);
  });

  it('spells every type out in the docs table (no wildcards a reader has to expand)', () => {
    expect(documentedTypes().cells.filter((c) => c.includes('*'))).toEqual([]);
  });

  it('lists the security log types in docs/audit.md exactly as the security column has them', () => {
    const listed = listBetween('show when it was pruned. They are:', 'and the successful writes');
    expect(sorted(listed)).toEqual(sorted(TYPES.filter((t) => AUDIT_TYPES[t].security === true)));
    expect(TYPES.filter((t) => AUDIT_TYPES[t].security === 'writes')).toEqual(['http.write']);
  });

  it('lists the counted refusals in docs/audit.md exactly as the refusal column has them', () => {
    const listed = listBetween('A flood of refusals must not wash out the record. Refusals (', ') are counted');
    expect(sorted(listed)).toEqual(sorted(TYPES.filter((t) => AUDIT_TYPES[t].refusal)));
  });

  it('has no type that nothing writes: each one appears in src/ outside the table', () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
    const text = files(src)
      .filter((f) => !f.endsWith(join('audit', 'types.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(TYPES.filter((t) => !text.includes(`'${t}'`))).toEqual([]);
  });

  it('knows the types the door counters restore from the log at boot', () => {
    expect(RESTORED_AUDIT_TYPES.filter((t) => !isAuditType(t))).toEqual([]);
  });
});

describe('security events', () => {
  const event = (type: AuditType, extra: Partial<AuditEvent> = {}): AuditEvent => ({ type, outcome: 'ok', ...extra });
  it.each<[string, AuditEvent, boolean]>([
    ['a token created', event('token.created'), true],
    ['a lockout', event('auth.lockout', { outcome: 'denied' }), true],
    ['a key created', event('audit.key_created'), true],
    ['an audit backlog refusal (noise)', event('audit.backlog', { outcome: 'denied' }), false],
    ['an authentication failure (counted, not kept)', event('auth.failure', { outcome: 'denied' }), false],
    ['a job recovered', event('jobs.recovered'), false],
    ['a successful write to tokens', event('http.write', { route: '/api/v1/tokens' }), true],
    ['a successful write to a hook', event('http.write', { route: '/api/v1/hooks/:name' }), true],
    ['a failed write to tokens', event('http.write', { route: '/api/v1/tokens', outcome: 'error' }), false],
    ['a successful write to jobs', event('http.write', { route: '/api/v1/jobs' }), false],
    ['a write to a route whose name only starts like tokens', event('http.write', { route: '/api/v1/tokensx' }), false],
    ['a write with no route', event('http.write'), false],
  ])('%s: %s', (_what, e, expected) => expect(isSecurityEvent(e)).toBe(expected));

  it('never throws on a type outside the table (record() never throws)', () => {
    expect(isSecurityEvent({ type: 'not.a_type' as AuditType, outcome: 'ok' })).toBe(false);
  });
});
