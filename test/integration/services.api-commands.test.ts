/**
 * supervisor.allowApiCommands is remote code execution by design: on loopback it boots with a
 * warning that is logged, audited as a weakening of the boot and shown by doctor; off loopback the
 * boot is refused (exit 78, one line, no socket) unless supervisor.acknowledgeRemoteCodeExecution
 * is set too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { check, doctorReport } from '../helpers/doctor.js';
import { gateways, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { expectGolden } from '../helpers/golden.js';
import { freePort, isListening, lanAddress } from '../helpers/net.js';

const LAN = lanAddress();
const start = gateways('each');

async function bootWarnings(g: TestGateway): Promise<string[]> {
  const entries = (await g.fetch('/api/v1/audit?after=0&limit=50')).json.entries as Array<{ type: string; detail: { warnings?: string[] } }>;
  return entries.find((e) => e.type === 'gateway.boot')?.detail.warnings ?? [];
}

describe('supervisor.allowApiCommands', () => {
  it.each([
    ['the environment', ['--host', LAN], { MOAT_SUPERVISOR_ALLOW_API_COMMANDS: '1' }],
    ['the environment, on all interfaces', ['--host', '0.0.0.0', '--expose'], { MOAT_SUPERVISOR_ALLOW_API_COMMANDS: 'true' }],
  ])('is refused off loopback without the acknowledgement (from %s): exit 78, one line, no socket', async (_label, args, env) => {
    const dataDir = join(tmpDir(), 'state');
    const port = await freePort();
    const res = await runCli(['serve', '--data-dir', dataDir, '--port', String(port), ...args], env);
    expect(res.code).toBe(78);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    if (args[1] === LAN) expectGolden('boot/api-commands-lan.txt', `${(lines[0] as string).replaceAll(LAN, '<lan>')}\n`);
    else expect(lines[0]).toMatch(/needs supervisor.acknowledgeRemoteCodeExecution too/);
    expect(await isListening(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('boots off loopback with the acknowledgement, warned about and audited as a weakening', async () => {
    const g = await start({ host: LAN, supervisor: { allowApiCommands: true, acknowledgeRemoteCodeExecution: true } });
    expect(g.logs.text).toMatch(
      /allowApiCommands is on: any token with scope services can run any program as the moat user \(remote code execution by design\), from the network/,
    );
    expect(await bootWarnings(g)).toEqual(expect.arrayContaining([expect.stringMatching(/allowApiCommands is on.*from the network/)]));
  });

  it('boots on loopback with a warning, audited at boot, and a doctor warning', async () => {
    const g = await start({ supervisor: { allowApiCommands: true } });
    expect(g.logs.entries().some((e) => e['level'] === 40 && /allowApiCommands is on/.test(String(e['msg'])))).toBe(true);
    expect(await bootWarnings(g)).toEqual([expect.stringMatching(/remote code execution by design/)]);
    const finding = check(await doctorReport(g), 'services.api-commands');
    expect(finding.severity).toBe('warn');
    expect(finding.finding).toMatch(/any token with scope services can run any program/);
    expect((await doctorReport(g)).verdict).not.toBe('ok');
  });

  it('leaves the acknowledgement alone without effect (no warning, nothing opened)', async () => {
    const g = await start({ supervisor: { acknowledgeRemoteCodeExecution: true } });
    expect(await bootWarnings(g)).toEqual([]);
    const res = await g.fetch('/api/v1/services', {
      method: 'POST',
      body: { name: 'cmd', kind: 'command', command: ['/bin/true'], baseUrl: `http://127.0.0.1:${await freePort()}` },
    });
    expect(res.json.code).toBe('service_command_refused');
  });
});
