/**
 * moat doctor on file modes and the admin token file, through the API and the real CLI: each mode
 * family turns warn/fail when widened on a running gateway, `--fix` puts it back and says so; with
 * no gateway running the data dir is checked and repaired offline; a malformed token file is replaced.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modeOf } from '../../src/gateway.js';
import { check, doctorCli, doctorFix, doctorReport } from '../helpers/doctor.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

describe('file modes on a running gateway', () => {
  let g: TestGateway;
  beforeAll(async () => {
    // TLS on loopback, so that the key exists too.
    g = await startGateway({ tls: { enabled: true } });
  });
  afterAll(() => g.stop());

  it('reports every mode family ok on a fresh data dir', async () => {
    const report = await doctorReport(g);
    for (const id of ['mode.data-dir', 'mode.token-file', 'mode.tls', 'mode.database', 'mode.audit', 'mode.keys']) {
      expect(check(report, id).severity, id).toBe('ok');
    }
  });

  it.each([
    ['mode.token-file', 'gateway-token', 0o644, 'fail', 0o600],
    ['mode.token-file', 'gateway-token', 0o640, 'fail', 0o600],
    ['mode.data-dir', '.', 0o755, 'warn', 0o700],
    ['mode.data-dir', '.', 0o777, 'fail', 0o700],
    ['mode.tls', 'tls/key.pem', 0o644, 'fail', 0o600],
    ['mode.database', 'moat.db', 0o644, 'fail', 0o600],
    ['mode.audit', 'audit', 0o755, 'warn', 0o700],
    ['mode.audit', 'audit/audit.jsonl', 0o666, 'fail', 0o600],
    ['mode.keys', 'keys/jobs.key', 0o604, 'fail', 0o600],
  ] as const)('%s: %s at %o is %s, and --fix sets it back to %o', async (id, rel, mode, severity, repaired) => {
    const path = join(g.dataDir, rel);
    chmodSync(path, mode);
    const broken = check(await doctorReport(g), id);
    expect(broken.severity).toBe(severity);
    expect(broken.fixable).toBe(true);
    expect(broken.finding).toContain(`0${mode.toString(8)}`);

    const { actions, report } = await doctorFix(g);
    expect(actions).toContainEqual({ id, ok: true, action: expect.stringContaining(`(was 0${mode.toString(8)})`) });
    expect(check(report, id).severity).toBe('ok');
    expect(modeOf(path)).toBe(repaired);
  });

  it('fails a world-readable token file through `moat doctor` (exit 2), and `moat doctor --fix` repairs it and lists the chmod', async () => {
    const token = join(g.dataDir, 'gateway-token');
    chmodSync(token, 0o644);
    const before = await doctorCli(g.dataDir);
    expect(before.code).toBe(2);
    expect(before.report.running).toBe(true);
    expect(check(before.report, 'mode.token-file')).toMatchObject({ severity: 'fail', fixable: true });
    expect(check(before.report, 'mode.token-file').finding).toMatch(/rotate it after fixing/);

    const fixed = await doctorCli(g.dataDir, ['--fix']);
    expect(fixed.report.actions).toEqual([{ id: 'mode.token-file', action: 'chmod 0600 gateway-token (was 0644)', ok: true }]);
    expect(check(fixed.report, 'mode.token-file').severity).toBe('ok');
    expect(fixed.code).toBe(0);
    expect(modeOf(token)).toBe(0o600);
  });

  it('audits the repair as doctor.fixed with each action', async () => {
    chmodSync(join(g.dataDir, 'moat.db'), 0o644);
    await doctorFix(g);
    const all = (await g.fetch('/api/v1/audit?after=0&limit=1000')).json.entries as Array<Record<string, any>>;
    const fixed = all.filter((e) => e.type === 'doctor.fixed');
    expect(fixed.at(-1)).toMatchObject({
      outcome: 'ok',
      actor: { id: 'admin' },
      detail: { actions: [{ id: 'mode.database', ok: true, action: 'chmod 0600 moat.db (was 0644)' }] },
    });
  });
});

describe('with no gateway running', () => {
  let dataDir: string;
  beforeAll(async () => {
    const g = await startGateway({ tls: { enabled: true } });
    dataDir = g.dataDir;
    await g.stop();
  });

  it('checks the data dir alone, says which checks needed a running gateway, and repairs modes offline', async () => {
    chmodSync(join(dataDir, 'gateway-token'), 0o644);
    chmodSync(join(dataDir, 'audit'), 0o755);
    const before = await doctorCli(dataDir);
    expect(before.code).toBe(2);
    expect(before.report.running).toBe(false);
    expect(before.report.offline).toBe('no gateway is running on this data dir');
    expect(before.report.skipped.map((s) => s.id)).toEqual(expect.arrayContaining(['bind', 'auth', 'tls', 'origins', 'activity.lockouts']));
    expect(before.report.skipped.every((s) => s.reason === 'needs a running gateway')).toBe(true);
    expect(check(before.report, 'mode.token-file').severity).toBe('fail');
    expect(check(before.report, 'mode.audit').severity).toBe('warn');
    expect(check(before.report, 'audit.chain').severity).toBe('ok');

    const fixed = await doctorCli(dataDir, ['--fix']);
    expect(fixed.report.actions?.map((a) => a.action).sort()).toEqual(['chmod 0600 gateway-token (was 0644)', 'chmod 0700 audit/ (was 0755)']);
    expect(fixed.report.verdict).toBe('ok');
    expect(fixed.code).toBe(0);
    expect(modeOf(join(dataDir, 'gateway-token'))).toBe(0o600);
    expect(modeOf(join(dataDir, 'audit'))).toBe(0o700);
  });

  it('prints a readable report naming the data dir and what was not checked', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const res = await runCli(['doctor', '--data-dir', dataDir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`moat doctor: OK (data dir ${dataDir} only: no gateway is running on this data dir)`);
    expect(res.stdout).toMatch(/^ok {4}mode\.token-file +the admin token file: gateway-token 0600$/m);
    expect(res.stdout).toMatch(/^not checked \(they need a running gateway\): bind, auth, tls, /m);
  });

  it('replaces a malformed token file offline with a token the next gateway accepts', async () => {
    writeFileSync(join(dataDir, 'gateway-token'), 'not a token\n', { mode: 0o600 });
    const before = await doctorCli(dataDir);
    expect(check(before.report, 'admin-token.file')).toMatchObject({ severity: 'fail', fixable: true });
    const fixed = await doctorCli(dataDir, ['--fix']);
    expect(fixed.report.actions).toContainEqual({
      id: 'admin-token.file',
      ok: true,
      action: 'wrote a new admin token to gateway-token (the malformed one is gone)',
    });
    expect(check(fixed.report, 'admin-token.file').severity).toBe('ok');
    const written = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
    expect(written).toMatch(/^moat_[A-Za-z0-9_-]{43}$/);
    const g = await startGateway({ dataDir });
    try {
      expect(g.token).toBe(written);
      expect((await g.fetch('/api/v1/status', { auth: written })).status).toBe(200);
    } finally {
      await g.stop();
    }
  });

  it('warns that the data dir does not exist (a wrong --data-dir)', async () => {
    const missing = join(tmpDir(), 'nowhere');
    const res = await doctorCli(missing);
    expect(check(res.report, 'mode.data-dir')).toMatchObject({ severity: 'warn', finding: `the data dir ${missing} does not exist` });
    expect(res.code).toBe(1);
  });
});

describe('a token file damaged while the gateway runs', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(() => g.stop());

  it('fails admin-token.file; the repair rotates the admin token, which works at once while the old one stops', async () => {
    const old = g.token;
    writeFileSync(join(g.dataDir, 'gateway-token'), 'garbage\n');
    expect(check(await doctorReport(g), 'admin-token.file')).toMatchObject({ severity: 'fail', fixable: true, finding: expect.stringContaining('malformed') });

    // The CLI cannot authenticate with the damaged file: it checks the data dir and will not replace
    // the token under a running gateway (the new one would not be known to it).
    const cli = await doctorCli(g.dataDir, ['--fix']);
    expect(cli.report.running).toBe(false);
    expect(cli.report.offline).toMatch(/refused the token \(token_invalid\)/);
    expect(cli.report.actions).toContainEqual({
      id: 'admin-token.file',
      ok: false,
      action: expect.stringMatching(/a gateway \(pid \d+\) serves this data dir/),
    });
    expect(cli.code).toBe(2);

    // Through the gateway (with a valid admin token) the repair is a rotation.
    const { actions, report } = await doctorFix(g);
    expect(actions).toContainEqual({ id: 'admin-token.file', ok: true, action: expect.stringMatching(/^rotated the admin token/) });
    expect(check(report, 'admin-token.file').severity).toBe('ok');
    const fresh = readFileSync(join(g.dataDir, 'gateway-token'), 'utf8').trim();
    expect(fresh).not.toBe(old);
    expect((await g.fetch('/api/v1/status', { auth: fresh })).status).toBe(200);
    expect((await g.fetch('/api/v1/status', { auth: old })).status).toBe(401);
  });

  it('fails a token file replaced by another well-formed token (a restore), and repairs it the same way', async () => {
    writeFileSync(join(g.dataDir, 'gateway-token'), `moat_${'A'.repeat(43)}\n`);
    expect(check(await doctorReport(g), 'admin-token.file')).toMatchObject({ severity: 'fail', finding: expect.stringContaining('another token') });
    const { report } = await doctorFix(g);
    expect(check(report, 'admin-token.file').severity).toBe('ok');
  });
});
