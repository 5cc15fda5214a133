/**
 * The per-install keys under <dataDir>/keys/: made once, kept, and never silently replaced. A
 * damaged key file stops the boot (exit 78, one line naming the file and what it protects) and is
 * left as it was, because a new key would make what was sealed or signed with the old one (job
 * payloads, hook secrets, action links) unreadable; moat doctor names it and --fix leaves it alone.
 * Restored, the gateway boots.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServe } from '../helpers/cli.js';
import { check, doctorCli } from '../helpers/doctor.js';
import { tmpDir } from '../helpers/gateway.js';
import { freePort, isListening } from '../helpers/net.js';

const KEYS = ['pairing', 'callback', 'jobs', 'hooks', 'tasks', 'links'];

async function bootOnce(dataDir: string): Promise<void> {
  const p = await spawnServe(['--data-dir', dataDir, '--port', '0']);
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}

describe('per-install keys', () => {
  it('are made at the first boot, 0600, and the same ones are used at the next', async () => {
    const dataDir = join(tmpDir(), 'state');
    await bootOnce(dataDir);
    const first = KEYS.map((k) => readFileSync(join(dataDir, 'keys', `${k}.key`), 'utf8'));
    for (const k of KEYS) expect(statSync(join(dataDir, 'keys', `${k}.key`)).mode & 0o777).toBe(0o600);
    await bootOnce(dataDir);
    expect(KEYS.map((k) => readFileSync(join(dataDir, 'keys', `${k}.key`), 'utf8'))).toEqual(first);
  });

  it.each([
    ['jobs', ''],
    ['jobs', 'not a key'],
    ['hooks', 'QUJD'], // base64, but 3 bytes
    ['links', `${Buffer.alloc(32, 1).toString('base64')}x`],
    ['callback', Buffer.alloc(32, 1).toString('hex')],
    ['pairing', `${Buffer.alloc(31, 1).toString('base64')}`],
  ])('refuses a damaged %s key (%j) with exit 78, leaves it as it was, and boots once it is restored', async (name, damaged) => {
    const dataDir = join(tmpDir(), 'state');
    await bootOnce(dataDir);
    const path = join(dataDir, 'keys', `${name}.key`);
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, damaged);
    const port = await freePort();
    const res = await runCli(['serve', '--data-dir', dataDir, '--port', String(port)]);
    expect(res.code, res.stderr).toBe(78);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path);
    expect(lines[0]).toMatch(/restore it from a backup/);
    expect(await isListening(port)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(damaged);
    // The refused boot is in the chain, which still verifies.
    expect((await runCli(['audit', 'verify', '--data-dir', dataDir])).code).toBe(0);
    // moat doctor names the file, and --fix leaves it alone.
    const doctor = await doctorCli(dataDir, ['--fix']);
    expect(doctor.code).toBe(2);
    expect(check(doctor.report, 'keys.valid')).toMatchObject({ severity: 'fail', fixable: false, finding: expect.stringContaining(`keys/${name}.key`) });
    expect(check(doctor.report, 'keys.valid').fix).toMatch(/restore it from a backup/);
    expect(readFileSync(path, 'utf8')).toBe(damaged);
    writeFileSync(path, good);
    await bootOnce(dataDir);
    expect(readFileSync(path, 'utf8')).toBe(good);
    expect(check((await doctorCli(dataDir)).report, 'keys.valid').severity).toBe('ok');
  });
});
