/**
 * Rotation by size: the chain continues across files, old files are pruned and the pruning is
 * recorded (so it does not read as tampering), removing a kept file does, and reading pages
 * across files. Rotation uses the schema's smallest size (64 KiB) and enough entries to pass it.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDir, auditFiles, copyAudit, fileLines, readEntries, type Entry } from '../helpers/audit.js';
import { runCli } from '../helpers/cli.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEEP = 2;

/** Writes (failing writes, each audited, padded by a long User-Agent) until `rotations` more rotations are read back. */
async function writeUntilRotations(g: TestGateway, rotations: number): Promise<void> {
  const ua = `rotation/${'r'.repeat(190)}`;
  let seen = 0;
  let after = (await g.fetch('/api/v1/audit/head')).json.seq as number;
  while (seen < rotations) {
    await Promise.all(Array.from({ length: 40 }, () => g.fetch('/api/v1/tokens', { method: 'POST', body: {}, headers: { 'user-agent': ua } })));
    for (;;) {
      const page = await g.fetch(`/api/v1/audit?after=${after}&limit=1000`);
      const entries = page.json.entries as Entry[];
      seen += entries.filter((e) => e.type === 'audit.rotated').length;
      if (entries.length === 0) break;
      after = (entries[entries.length - 1] as Entry).seq;
    }
  }
}

describe('rotation', () => {
  let g: TestGateway;
  let rotatedEntries: Entry[];
  beforeAll(async () => {
    g = await startGateway({ audit: { rotateBytes: 65_536, keep: KEEP }, rateLimit: { general: { perMinute: 100_000 } } });
    await writeUntilRotations(g, KEEP + 3);
    await g.fetch('/api/v1/audit/head'); // everything recorded is written: the files can be read while no request runs
    rotatedEntries = readEntries(g.dataDir).filter((e) => e.type === 'audit.rotated');
  });
  afterAll(async () => {
    await g.stop();
  });

  it('keeps `keep` rotated files plus the current one, with tight modes', () => {
    const files = auditFiles(g.dataDir);
    expect(files).toHaveLength(KEEP + 1);
    expect(files[files.length - 1]).toBe('audit.jsonl');
    expect(statSync(auditDir(g.dataDir)).mode & 0o777).toBe(0o700);
    expect(statSync(join(auditDir(g.dataDir), 'audit.jsonl')).mode & 0o777).toBe(0o600);
    for (const f of files.slice(0, -1)) expect(statSync(join(auditDir(g.dataDir), f)).mode & 0o777).toBe(0o400);
  });

  it('continues the chain across files: each file starts with the link (mac) of the one before', () => {
    const files = auditFiles(g.dataDir);
    for (let i = 1; i < files.length; i++) {
      const prevLines = fileLines(g.dataDir, files[i - 1] as string);
      const first = JSON.parse(fileLines(g.dataDir, files[i] as string)[0] as string) as Entry;
      const lastOfPrev = JSON.parse(prevLines[prevLines.length - 1] as string) as Entry;
      expect(first.prev).toBe((JSON.parse(prevLines[prevLines.length - 1] as string) as { mac: string }).mac);
      expect(first.prev).toMatch(/^[0-9a-f]{64}$/);
      expect(first.seq).toBe(lastOfPrev.seq + 1);
      expect(first).toMatchObject({ type: 'audit.rotated', detail: { closed: files[i - 1] } });
    }
    // Rotated files are named by their first seq.
    for (const f of files.slice(0, -1)) expect(Number(f.slice(6, 22))).toBe((JSON.parse(fileLines(g.dataDir, f)[0] as string) as Entry).seq);
  });

  it('records each pruned file in the chain, and the files are gone', () => {
    const pruned = rotatedEntries.flatMap((e) => e.detail?.['pruned'] as string[]);
    expect(pruned.length).toBeGreaterThanOrEqual(3);
    for (const name of pruned) expect(existsSync(join(auditDir(g.dataDir), name))).toBe(false);
    const last = rotatedEntries[rotatedEntries.length - 1] as Entry;
    const oldestKept = auditFiles(g.dataDir)[0] as string;
    expect(last.detail?.['anchor']).toMatchObject({ seq: Number(oldestKept.slice(6, 22)) });
  });

  it('verifies after pruning, through the API and the CLI', async () => {
    const api = await g.fetch('/api/v1/audit/verify');
    expect(api.json).toMatchObject({ ok: true, headChecked: true });
    expect(api.json.firstSeq).toBeGreaterThan(1);
    const copy = copyAudit(g.dataDir);
    const cli = await runCli(['audit', 'verify', '--data-dir', copy]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^audit chain ok: /);
  });

  it('fails verify when the oldest kept file is removed, naming it', async () => {
    const copy = copyAudit(g.dataDir);
    const [oldest, next] = auditFiles(copy) as [string, string];
    rmSync(join(auditDir(copy), oldest));
    const cli = await runCli(['audit', 'verify', '--data-dir', copy]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`audit chain BROKEN at ${next}:1: `);
    expect(cli.stdout).toContain(`file ${oldest} was removed`);
  });

  it('pages through the API across rotated files, from the oldest kept entry to the head', async () => {
    const head = (await g.fetch('/api/v1/audit/head')).json.seq as number;
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await g.fetch(`/api/v1/audit?after=${after}&limit=37`);
      seen.push(...(page.json.entries as Entry[]).map((e) => e.seq));
      if (page.json.next === null) break;
      after = page.json.next;
    }
    const first = Number((auditFiles(g.dataDir)[0] as string).slice(6, 22));
    expect(seen[0]).toBe(first);
    expect(seen).toEqual(Array.from({ length: head - first + 1 }, (_, i) => first + i));
    // A page that starts inside the newest rotated file continues into the current one.
    const mid = Number((auditFiles(g.dataDir)[KEEP - 1] as string).slice(6, 22));
    const page = await g.fetch(`/api/v1/audit?after=${mid + 2}&limit=1000`);
    expect((page.json.entries as Entry[])[0]?.seq).toBe(mid + 3);
  });
});

describe('rotation across restarts', () => {
  it('continues the chain after a restart with a smaller keep, and verifies', async () => {
    const values = { audit: { rotateBytes: 65_536, keep: 3 }, rateLimit: { general: { perMinute: 100_000 } } };
    const first = await startGateway(values);
    await writeUntilRotations(first, 3);
    await first.stop();
    const second = await startGateway({ ...values, dataDir: first.dataDir, audit: { rotateBytes: 65_536, keep: 1 } });
    await writeUntilRotations(second, 4);
    const api = await second.fetch('/api/v1/audit/verify');
    await second.stop();
    expect(api.json).toMatchObject({ ok: true });
    expect(auditFiles(first.dataDir)).toHaveLength(2);
    const cli = await runCli(['audit', 'verify', '--data-dir', first.dataDir]);
    expect(cli.code).toBe(0);
  });
});
