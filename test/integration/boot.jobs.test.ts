/**
 * Refused boots of the job queue, from outside: a real `moat serve` exits 78 with one line (golden
 * files) before any socket opens or the data dir is touched: ntfy topics that are public knowledge.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gateway.js';
import { expectGolden } from '../helpers/golden.js';
import { freePort, isListening } from '../helpers/net.js';

const refusals = [
  { name: 'ntfy-topic-gateway', topic: 'gateway' },
  { name: 'ntfy-topic-short', topic: 'k3Xm9Qp2' },
  { name: 'ntfy-topic-word-like', topic: 'myhomeserveralertsforthedayz' },
];

describe('refused boots of the job queue', () => {
  it.each(refusals)('refuses $name with exit 78 and one line, before any socket opens', async ({ name, topic }) => {
    const dir = tmpDir('moat-boot-');
    const dataDir = join(dir, 'state');
    const port = await freePort();
    writeFileSync(join(dir, 'moat.json'), JSON.stringify({ notifications: { ntfy: { url: 'https://ntfy.sh', topic } } }));
    const res = await runCli(['serve', '--data-dir', dataDir, '--port', String(port), '--config', join(dir, 'moat.json')]);
    expect(res.code, res.stderr).toBe(78);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectGolden(`boot/${name}.txt`, `${lines[0]}\n`);
    expect(await isListening(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('boots with a topic made by openssl rand -hex 16', async () => {
    const { createGateway } = await import('../../src/gateway.js');
    expect(() =>
      createGateway({ values: { dataDir: tmpDir(), notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'f3a9c2e7b1d84a6f9e0c5b2a7d3f1e8c' } } } }),
    ).not.toThrow();
  });
});
