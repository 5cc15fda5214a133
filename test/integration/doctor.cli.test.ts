/**
 * `moat doctor` as a person and a script use it: the JSON shape, the exit status from the worst
 * severity (0 ok, 1 warnings, 2 failures), the readable report, and the route behind it (admin only).
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { check, doctorCli } from '../helpers/doctor.js';
import { gateways } from '../helpers/gateway.js';
import { tokenWith } from '../helpers/tools.js';

const gateway = gateways('each');

describe('moat doctor --json', () => {
  it('prints the report: verdict, time, every check with id, severity, finding, fix and fixable; exit 0 when all is ok', async () => {
    const g = await gateway();
    const res = await doctorCli(g.dataDir);
    expect(res.code).toBe(0);
    expect(Object.keys(res.report).sort()).toEqual(['checkedAt', 'checks', 'running', 'skipped', 'verdict']);
    expect(res.report).toMatchObject({ verdict: 'ok', running: true, skipped: [] });
    expect(Number.isNaN(Date.parse(res.report.checkedAt))).toBe(false);
    for (const c of res.report.checks) {
      expect(Object.keys(c).sort()).toEqual(['finding', 'fix', 'fixable', 'id', 'severity']);
      expect(c.finding.includes('\n')).toBe(false);
    }
    expect(res.report.checks.map((c) => c.id)).toEqual([
      'bind',
      'auth',
      'tls',
      'tls.expiry',
      'admin-token.strength',
      'admin-token.age',
      'admin-token.file',
      'tokens.admin-no-expiry',
      'mode.data-dir',
      'mode.token-file',
      'mode.tls',
      'mode.database',
      'mode.audit',
      'mode.keys',
      'keys.valid',
      'origins',
      'proxy.trusted',
      'ntfy.topic',
      'services.non-loopback',
      'services.api-commands',
      'tools.high-risk',
      'tools.sandbox',
      'workspaces.client-scope',
      'rate-limit',
      'containers.engine',
      'containers.socket',
      'containers.options',
      'audit.chain',
      'audit.key',
      'audit.writer',
      'activity.auth-failures',
      'activity.lockouts',
    ]);
  });

  it('exits 1 when the worst finding is a warning', async () => {
    const g = await gateway({ rateLimit: { enabled: false } });
    const res = await doctorCli(g.dataDir);
    expect(res.report.verdict).toBe('warn');
    expect(check(res.report, 'rate-limit').severity).toBe('warn');
    expect(res.code).toBe(1);
  });

  it('exits 2 when anything fails, and adds the actions with --fix', async () => {
    const g = await gateway({ rateLimit: { enabled: false } });
    chmodSync(join(g.dataDir, 'gateway-token'), 0o666);
    const res = await doctorCli(g.dataDir);
    expect(res.report.verdict).toBe('fail');
    expect(res.code).toBe(2);
    const fixed = await doctorCli(g.dataDir, ['--fix']);
    expect(fixed.report.actions).toEqual([{ id: 'mode.token-file', action: 'chmod 0600 gateway-token (was 0666)', ok: true }]);
    // What --fix cannot change (a policy the operator chose) still decides the status.
    expect(fixed.report.verdict).toBe('warn');
    expect(fixed.code).toBe(1);
  });
});

describe('moat doctor for people', () => {
  it('prints one line per check, and the fix under each one that is not ok', async () => {
    const g = await gateway({ rateLimit: { enabled: false } });
    chmodSync(join(g.dataDir, 'moat.db'), 0o644);
    const res = await runCli(['doctor', '--data-dir', g.dataDir]);
    expect(res.code).toBe(2);
    expect(res.stdout).toContain(`moat doctor: FAIL (gateway at ${g.url})`);
    expect(res.stdout).toMatch(/^ok {4}bind +bound to 127\.0\.0\.1:\d+ \(loopback/m);
    expect(res.stdout).toMatch(/^warn {2}rate-limit +rate limiting is OFF/m);
    expect(res.stdout).toMatch(/^fail {2}mode\.database +the database is open to others: moat\.db is 0644 \(want 0600\)$/m);
    expect(res.stdout).toMatch(/^ +fix: moat doctor --fix \(chmod 0600 moat\.db\) \(moat doctor --fix repairs it\)$/m);
    expect(res.stdout).toMatch(/^ +fix: set rateLimit\.enabled=true/m);

    const fixed = await runCli(['doctor', '--fix', '--data-dir', g.dataDir]);
    expect(fixed.stdout).toMatch(/^fixed {2}mode\.database: chmod 0600 moat\.db \(was 0644\)$/m);
    expect(fixed.code).toBe(1);
  });
});

describe('GET /api/v1/doctor and POST /api/v1/doctor/fix', () => {
  it('need scope admin', async () => {
    const g = await gateway();
    const read = await tokenWith(g, 'reader', ['read']);
    expect((await g.fetch('/api/v1/doctor', { auth: read })).status).toBe(403);
    expect((await g.fetch('/api/v1/doctor/fix', { method: 'POST', auth: read })).status).toBe(403);
    expect((await g.fetch('/api/v1/doctor', { auth: false })).status).toBe(401);
  });
});
