/**
 * moat doctor on the door's posture: the bind class against the boot matrix, auth, TLS and its
 * minimum version, and certificate expiry (offline and on a running gateway, self-signed and the
 * operator's own), with the self-signed certificate reissued by --fix.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueSelfSigned } from '../../src/http/self-signed.js';
import { check, doctorCli, doctorFix, doctorReport } from '../helpers/doctor.js';
import { gateways, tmpDir } from '../helpers/gateway.js';
import { lanAddress } from '../helpers/net.js';

const DAY = 86_400_000;
const gateway = gateways('each');

/** A self-signed certificate valid for `days` in <dir>/tls/, as moat would have written it. */
function writeCertificate(dir: string, days: number): void {
  mkdirSync(join(dir, 'tls'), { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = issueSelfSigned(['localhost', '127.0.0.1', '::1'], days);
  writeFileSync(join(dir, 'tls', 'key.pem'), keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'tls', 'cert.pem'), certPem, { mode: 0o644 });
}

describe('bind, auth and TLS', () => {
  it('is ok on loopback with auth on and TLS off', async () => {
    const report = await doctorReport(await gateway());
    expect(check(report, 'bind')).toMatchObject({
      severity: 'ok',
      finding: expect.stringMatching(/^bound to 127\.0\.0\.1:\d+ \(loopback, host from default\)/),
    });
    expect(check(report, 'auth').severity).toBe('ok');
    expect(check(report, 'tls')).toMatchObject({ severity: 'ok', finding: expect.stringContaining('TLS is off on a loopback bind') });
  });

  it('is ok on one LAN address, where the boot matrix forced TLS 1.3 and auth on', async () => {
    const lan = lanAddress();
    const report = await doctorReport(await gateway({ host: lan }));
    expect(check(report, 'bind')).toMatchObject({ severity: 'ok', finding: expect.stringContaining(`${lan}`) });
    expect(check(report, 'bind').finding).toContain('auth on, TLS on (boot matrix satisfied)');
    expect(check(report, 'tls')).toMatchObject({ severity: 'ok', finding: expect.stringContaining('TLSv1.3 minimum') });
    expect(check(report, 'tls').finding).toContain('self-signed');
  });

  it('warns when every interface is bound (--expose), however well guarded', async () => {
    const report = await doctorReport(await gateway({ host: '0.0.0.0', expose: true }));
    expect(check(report, 'bind')).toMatchObject({ severity: 'warn', finding: expect.stringContaining('every interface') });
  });

  it('warns when auth is off on loopback, and is ok once it is back on', async () => {
    const off = await gateway({ auth: { enabled: false } });
    expect(check(await doctorReport(off), 'auth')).toMatchObject({
      severity: 'warn',
      fixable: false,
      finding: expect.stringContaining('auth is OFF (auth.enabled from flag)'),
    });
    const dataDir = off.dataDir;
    await off.stop();
    expect(check(await doctorReport(await gateway({ dataDir })), 'auth').severity).toBe('ok');
  });
});

describe('certificate expiry', () => {
  it('offline: warns about a self-signed certificate expiring within 30 days; --fix reissues it for the same names', async () => {
    const dataDir = tmpDir();
    writeCertificate(dataDir, 10);
    const before = await doctorCli(dataDir);
    expect(check(before.report, 'tls.expiry')).toMatchObject({
      severity: 'warn',
      fixable: true,
      finding: expect.stringMatching(/^the self-signed certificate expires in (9|10) days/),
    });
    expect(before.code).toBe(1);

    const fixed = await doctorCli(dataDir, ['--fix']);
    expect(fixed.report.actions).toEqual([
      {
        id: 'tls.expiry',
        ok: true,
        action: expect.stringMatching(
          /^issued a new self-signed certificate for localhost, 127\.0\.0\.1, ::1 \(valid until \d{4}-\d\d-\d\d, SHA-256 [0-9A-F:]+\)$/,
        ),
      },
    ]);
    expect(check(fixed.report, 'tls.expiry')).toMatchObject({ severity: 'ok', finding: expect.stringMatching(/\((364|365) days\)$/) });
    expect(check(fixed.report, 'mode.tls').severity).toBe('ok');
    expect(fixed.code).toBe(0);
  });

  it('offline: fails a certificate a few days from expiry', async () => {
    const dataDir = tmpDir();
    writeCertificate(dataDir, 3);
    const res = await doctorCli(dataDir);
    expect(check(res.report, 'tls.expiry')).toMatchObject({ severity: 'fail', fixable: true });
    expect(res.code).toBe(2);
  });

  it("running: warns about the operator's own certificate and says to renew it where it comes from (not fixable)", async () => {
    const dir = tmpDir();
    const { certPem, keyPem } = issueSelfSigned(['localhost', '127.0.0.1', '::1'], 20);
    writeFileSync(join(dir, 'cert.pem'), certPem);
    writeFileSync(join(dir, 'key.pem'), keyPem, { mode: 0o600 });
    const g = await gateway({ tls: { enabled: true, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    const report = await doctorReport(g);
    expect(check(report, 'tls').finding).toContain(`operator certificate ${join(dir, 'cert.pem')}`);
    expect(check(report, 'tls.expiry')).toMatchObject({ severity: 'warn', fixable: false, fix: expect.stringContaining('renew it where it comes from') });
  });

  it('running: an expiring self-signed certificate is reissued by --fix, served after a restart', async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const g = await gateway({ tls: { enabled: true } }, { now });
    expect(check(await doctorReport(g), 'tls.expiry').severity).toBe('ok');

    offset = 340 * DAY; // the gateway has been up for most of a year
    expect(check(await doctorReport(g), 'tls.expiry')).toMatchObject({ severity: 'warn', fixable: true });
    const { actions, report } = await doctorFix(g);
    const action = actions.find((a) => a.id === 'tls.expiry');
    expect(action?.action).toMatch(/^issued a new self-signed certificate .*; restart moat to serve it$/);
    const fingerprint = /SHA-256 ([0-9A-F:]+)\)/.exec(action?.action ?? '')?.[1];
    // Still served until the restart, and no longer fixable: the doctor says what is pending.
    expect(check(report, 'tls.expiry')).toMatchObject({
      severity: 'warn',
      fixable: false,
      finding: expect.stringContaining('a newer one is on disk: restart moat to serve it'),
    });

    const dataDir = g.dataDir;
    await g.stop();
    offset = 0; // the reissued certificate was made on the real clock, for real clients
    const again = await gateway({ dataDir, tls: { enabled: true } }, { now });
    expect(again.gw.tlsFingerprint).toBe(fingerprint);
    expect(check(await doctorReport(again), 'tls.expiry').severity).toBe('ok');
  });
});
