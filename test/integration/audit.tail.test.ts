/** `moat audit tail [-n] [-f] [--json]`: the real CLI reading a running gateway's log. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../helpers/audit.js';
import { MAIN, cleanEnv, runCli } from '../helpers/cli.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('moat audit tail', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway();
    for (let i = 0; i < 5; i++)
      await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `tail-${i}`, scopes: ['read'] }, headers: { 'x-request-id': `tail-${i}` } });
  });
  afterAll(async () => {
    await g.stop();
  });

  it('prints a header row, then the newest entries, one per line, oldest first, in aligned columns', async () => {
    const head = (await g.fetch('/api/v1/audit/head')).json.seq as number;
    const res = await runCli(['audit', 'tail', '--data-dir', g.dataDir, '-n', '3']);
    expect(res.code).toBe(0);
    const [header, ...lines] = res.stdout.trim().split('\n');
    expect(header).toMatch(/^SEQ\s+TIME\s+TYPE\s+OUTCOME\s+ACTOR\s+CLIENT\s+REQUEST$/);
    expect(lines.map((l) => Number(l.split(/\s+/)[0]))).toEqual([head - 2, head - 1, head]);
    expect(lines[2]).toMatch(/^\d+\s+\S+Z\s+http\.write\s+ok\s+admin\(admin\)\s+127\.0\.0\.1\s+POST \/api\/v1\/tokens 201$/);
    // Each column starts where its header does.
    for (const name of ['TYPE', 'OUTCOME', 'ACTOR', 'CLIENT', 'REQUEST']) {
      const at = header!.indexOf(name);
      for (const l of lines) expect([l[at - 1], l[at] === ' '], `${name} in ${l}`).toEqual([' ', false]);
    }
  });

  it('prints JSON with --json', async () => {
    const res = await runCli(['audit', 'tail', '--data-dir', g.dataDir, '-n', '2', '--json']);
    const entries = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({ type: 'http.write', clientRequestId: 'tail-4', route: '/api/v1/tokens' });
  });

  it('follows new entries with -f', async () => {
    const child = spawn(process.execPath, [MAIN, 'audit', 'tail', '--data-dir', g.dataDir, '-n', '1', '-f', '--json'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await expect.poll(() => out.split('\n').filter(Boolean).length, { timeout: 10_000 }).toBe(1);
      await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'followed', scopes: ['read'] }, headers: { 'x-request-id': 'followed-1' } });
      await expect.poll(() => out.includes('"clientRequestId":"followed-1"'), { timeout: 10_000 }).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
