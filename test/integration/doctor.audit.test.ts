/**
 * moat doctor on the record and on recent activity: a tampered audit file fails audit.chain (on a
 * running gateway and offline); failed logins and a lockout show up in the 24 h counts, and still
 * do after a restart (read back from the audit log, counted refusals with their count).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLines, writeFileLines } from '../helpers/audit.js';
import { check, doctorCli, doctorReport } from '../helpers/doctor.js';
import { Agent } from 'undici';
import { gateways, send, tmpDir } from '../helpers/gateway.js';

const gateway = gateways('each');

/** Changes the outcome of the first entry of audit.jsonl (an edit the chain must show). */
function tamper(dataDir: string): void {
  const lines = fileLines(dataDir, 'audit.jsonl');
  lines[0] = (lines[0] as string).replace('"outcome":"ok"', '"outcome":"error"');
  writeFileLines(dataDir, 'audit.jsonl', lines);
}

describe('audit.chain', () => {
  it('is ok on an untouched log, checked against the running head', async () => {
    const g = await gateway();
    expect(check(await doctorReport(g), 'audit.chain')).toMatchObject({
      severity: 'ok',
      finding: expect.stringContaining("checked against the running gateway's head"),
    });
  });

  it('fails on a running gateway whose audit file was edited, naming the line', async () => {
    const g = await gateway();
    await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'x', scopes: ['read'] } });
    await g.fetch('/api/v1/audit/verify');
    tamper(g.dataDir);
    const f = check(await doctorReport(g), 'audit.chain');
    expect(f).toMatchObject({
      severity: 'fail',
      fixable: false,
      finding: expect.stringMatching(/^the audit chain is broken at audit\.jsonl:1: entry seq 1 was edited/),
    });
    expect(f.fix).toContain('keep the files as they are');
  });

  it('fails offline too (moat doctor exit 2), and is never "fixed"', async () => {
    const g = await gateway();
    const dataDir = g.dataDir;
    await g.stop();
    tamper(dataDir);
    const res = await doctorCli(dataDir, ['--fix']);
    expect(check(res.report, 'audit.chain').severity).toBe('fail');
    expect(res.report.actions).toEqual([]);
    expect(res.code).toBe(2);
  });
});

describe('audit.chain on something that is not a log file', () => {
  it('fails a FIFO in place of audit.jsonl without reading it (reading would block)', async () => {
    const dataDir = tmpDir();
    mkdirSync(join(dataDir, 'audit'), { recursive: true, mode: 0o700 });
    expect(spawnSync('mkfifo', ['-m', '600', join(dataDir, 'audit', 'audit.jsonl')]).status).toBe(0);
    const res = await doctorCli(dataDir);
    expect(check(res.report, 'audit.chain')).toMatchObject({
      severity: 'fail',
      finding: 'the audit log could not be read: audit/audit.jsonl is not a regular file (a FIFO)',
    });
    expect(res.code).toBe(2);
  });
});

describe('activity.auth-failures and activity.lockouts', () => {
  it('are ok on a quiet gateway', async () => {
    const report = await doctorReport(await gateway());
    expect(check(report, 'activity.auth-failures')).toMatchObject({
      severity: 'ok',
      finding: '0 authentication failure(s) in the last 24 h, 0 with a wrong token or pairing code',
    });
    expect(check(report, 'activity.lockouts').severity).toBe('ok');
  });

  it('count six failed logins and report the lockout they caused', async () => {
    // A lockout long enough that the sixth attempt is refused as locked out, whatever the timing.
    const g = await gateway({ lockout: { baseMs: 600_000, maxMs: 600_000 } });
    // The guesses come from 127.0.0.2, so that the operator on 127.0.0.1 is not locked out with them.
    const attacker = new Agent({ localAddress: '127.0.0.2' });
    try {
      for (let i = 0; i < 6; i++) await send(attacker, g.url, `moat_${'x'.repeat(43)}`, '/api/v1/status');
      await send(attacker, g.url, '', '/api/v1/status', { auth: false }); // no credential: a failure, not a guess
    } finally {
      await attacker.close();
    }
    const report = await doctorReport(g);
    expect(check(report, 'activity.auth-failures')).toMatchObject({
      severity: 'warn',
      finding: '6 authentication failure(s) in the last 24 h, 5 with a wrong token or pairing code (lockout.after is 5)',
    });
    expect(check(report, 'activity.lockouts')).toMatchObject({ severity: 'warn', finding: '1 lockout(s) in the last 24 h after repeated failures' });
  });

  it('still count 15 failures and the lockout after a restart', async () => {
    const values = { lockout: { baseMs: 600_000, maxMs: 600_000 } };
    const g = await gateway(values);
    const attacker = new Agent({ localAddress: '127.0.0.3' });
    try {
      for (let i = 0; i < 5; i++) expect((await send(attacker, g.url, `moat_${'x'.repeat(43)}`, '/api/v1/status')).status).toBe(401);
      for (let i = 0; i < 10; i++) expect((await send(attacker, g.url, '', '/api/v1/status', { auth: false })).status).toBe(401);
    } finally {
      await attacker.close();
    }
    const finding = '15 authentication failure(s) in the last 24 h, 5 with a wrong token or pairing code (lockout.after is 5)';
    expect(check(await doctorReport(g), 'activity.auth-failures').finding).toBe(finding);
    await g.stop();

    const again = await gateway({ ...values, dataDir: g.dataDir });
    const report = await doctorReport(again);
    expect(check(report, 'activity.auth-failures')).toMatchObject({ severity: 'warn', finding });
    expect(check(report, 'activity.lockouts')).toMatchObject({ severity: 'warn', finding: '1 lockout(s) in the last 24 h after repeated failures' });
  });
});
