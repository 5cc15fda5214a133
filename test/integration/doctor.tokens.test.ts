/**
 * moat doctor on credentials: the strength of an operator's --token, the admin token's age (kept
 * across restarts), and tokens that hold admin without an expiry.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditText } from '../helpers/audit.js';
import { check, doctorReport } from '../helpers/doctor.js';
import { gateways } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';

const DAY = 86_400_000;
const gateway = gateways('each');

describe('admin-token.strength', () => {
  it('is ok for the generated token', async () => {
    expect(check(await doctorReport(await gateway()), 'admin-token.strength')).toMatchObject({
      severity: 'ok',
      finding: expect.stringContaining('generated (256 random bits)'),
    });
  });

  it.each([
    ['a repeated word', 'fail', 'passwordpasswordpasswordpassword', /repeats a 8-character pattern/],
    ['a few characters', 'fail', 'abcabcabcabcabcabcabcabcabcabcabX', /only 4 distinct characters/],
    ['thirteen distinct characters', 'warn', 'aabbccddeeffgghhiijjkkllaabbccdX', /13 distinct characters/],
  ] as const)('turns %s given with --token into %s', async (_what, severity, token, why) => {
    const finding = check(await doctorReport(await gateway({ auth: { token } })), 'admin-token.strength');
    expect(finding.severity).toBe(severity);
    expect(finding.finding).toMatch(why);
    expect(finding.finding).not.toContain(token);
  });

  it('is ok for a random operator token', async () => {
    const token = randomBytes(32).toString('base64url');
    expect(check(await doctorReport(await gateway({ auth: { token } })), 'admin-token.strength')).toMatchObject({
      severity: 'ok',
      finding: expect.stringContaining('looks random'),
    });
  });

  it('never puts the token in the report, the log or the audit', async () => {
    const token = 'passwordpasswordpasswordpassword';
    const g = await gateway({ auth: { token } });
    const res = await g.fetch('/api/v1/doctor');
    expect(res.text).not.toContain(token);
    await waitFor(() => g.logs.text.includes('MOAT_SECURITY'), 'the boot heartbeat');
    await g.fetch('/api/v1/audit/verify'); // flushes the audit writer
    expect(g.logs.text).not.toContain(token);
    expect(auditText(g.dataDir)).not.toContain(token);
  });
});

describe('admin-token.age', () => {
  it('warns once the admin token is older than 180 days, counting from its first boot across restarts; rotation resets it', async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const first = await gateway({}, { now });
    expect(check(await doctorReport(first), 'admin-token.age')).toMatchObject({
      severity: 'ok',
      finding: expect.stringMatching(/^the admin token is 0 day\(s\) old/),
    });
    const dataDir = first.dataDir;
    await first.stop();

    offset = 200 * DAY;
    const later = await gateway({ dataDir }, { now });
    expect(check(await doctorReport(later), 'admin-token.age')).toMatchObject({
      severity: 'warn',
      finding: expect.stringMatching(/^the admin token is 200 days old/),
      fix: 'moat token rotate-admin',
    });

    expect((await later.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' })).status).toBe(200);
    const { readFileSync } = await import('node:fs');
    const fresh = readFileSync(`${dataDir}/gateway-token`, 'utf8').trim();
    const res = await later.fetch('/api/v1/doctor', { auth: fresh });
    expect(check(res.json, 'admin-token.age').severity).toBe('ok');
    // The file holds the rotated token, which is the one in use: no mismatch.
    expect(check(res.json, 'admin-token.file').severity).toBe('ok');
  });
});

describe('tokens.admin-no-expiry', () => {
  it('warns about a token holding admin with no expiry, names it, and is ok once it is revoked', async () => {
    const g = await gateway();
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'laptop', scopes: ['admin'] } })).status).toBe(201);
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'phone', scopes: ['admin'], ttlSeconds: 86_400 } })).status).toBe(201);
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'reader', scopes: ['read'] } })).status).toBe(201);
    const finding = check(await doctorReport(g), 'tokens.admin-no-expiry');
    expect(finding).toMatchObject({ severity: 'warn', finding: expect.stringMatching(/^1 token\(s\) hold admin and never expire: laptop \(tok_/) });

    expect((await g.fetch('/api/v1/tokens/laptop', { method: 'DELETE' })).status).toBe(200);
    expect(check(await doctorReport(g), 'tokens.admin-no-expiry').severity).toBe('ok');
  });
});
