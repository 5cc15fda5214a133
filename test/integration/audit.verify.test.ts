/**
 * `moat audit verify` and GET /api/v1/audit/verify on a real, rotated log: ok when intact; on copies
 * that were edited, cut or reordered, exit status 1 naming the file and line. A cut tail is caught
 * against the running gateway's head, and offline against the head anchor its stop published (a
 * copy elsewhere has no anchors: there only the running gateway could tell).
 */
import { appendFileSync, renameSync, rmSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDir, auditFiles, copyAudit, fileLines, writeFileLines } from '../helpers/audit.js';
import { runCli } from '../helpers/cli.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

interface Verdict {
  code: number | null;
  stdout: string;
  json: {
    ok: boolean;
    broken?: { file: string; line: number; reason: string };
    partialTail?: { file: string; line: number };
    notes: string[];
    headChecked: boolean;
  };
}

async function cliVerify(dataDir: string): Promise<Verdict> {
  const text = await runCli(['audit', 'verify', '--data-dir', dataDir]);
  const json = await runCli(['audit', 'verify', '--data-dir', dataDir, '--json']);
  expect(json.code).toBe(text.code);
  return { code: text.code, stdout: text.stdout, json: JSON.parse(json.stdout) as Verdict['json'] };
}

/** Writes until the log has `files` files (small rotateBytes), each entry padded by a long User-Agent. */
async function fill(g: TestGateway, files: number): Promise<void> {
  const ua = `filler/${'u'.repeat(190)}`;
  while (auditFiles(g.dataDir).length < files) {
    await Promise.all(Array.from({ length: 40 }, () => g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 3 }, headers: { 'user-agent': ua } })));
    await g.fetch('/api/v1/audit/head'); // written, so the files show it
  }
}

function expectBroken(v: Verdict, file: string, line: number, reason: RegExp): void {
  expect(v.code).toBe(1);
  expect(v.stdout).toContain(`audit chain BROKEN at ${file}:${line}: `);
  expect(v.json.ok).toBe(false);
  expect(v.json.broken).toMatchObject({ file, line });
  expect(v.json.broken?.reason).toMatch(reason);
}

describe('verify on a rotated log', () => {
  let base: string;
  let files: string[];

  beforeAll(async () => {
    const g = await startGateway({ audit: { rotateBytes: 65_536, keep: 10 }, rateLimit: { general: { perMinute: 100_000 } } });
    await fill(g, 4);
    const api = await g.fetch('/api/v1/audit/verify');
    expect(api.json).toMatchObject({ ok: true, headChecked: true });
    expect(api.json.broken).toBeUndefined();
    await g.stop();
    base = g.dataDir;
    files = auditFiles(base);
  });

  it('passes an intact log through the CLI (exit 0), checked against the head anchor of the stop', async () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
    const v = await cliVerify(base);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^audit chain ok: \d+ entries in \d+ file\(s\), seq 1\.\.\d+\n/);
    expect(v.stdout).toMatch(/checked against \d+ head anchor\(s\) in .*audit-anchors\.jsonl, the newest for seq \d+/);
    expect(v.json).toMatchObject({ ok: true, headChecked: false });
  });

  it('passes a copy elsewhere (no anchors name it), noting that its tail cannot be checked there', async () => {
    const v = await cliVerify(copyAudit(base));
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('note: not compared with a running gateway and no head anchor vouches for the log');
  });

  it('fails on an edited entry, naming its file and line', async () => {
    const copy = copyAudit(base);
    const name = files[1] as string;
    const lines = fileLines(copy, name);
    lines[9] = (lines[9] as string).replace('"status":400', '"status":200');
    writeFileLines(copy, name, lines);
    expectBroken(await cliVerify(copy), name, 10, /was edited/);
  });

  it('fails on a deleted entry, naming the line where the gap is', async () => {
    const copy = copyAudit(base);
    const lines = fileLines(copy, 'audit.jsonl');
    lines.splice(4, 1);
    writeFileLines(copy, 'audit.jsonl', lines);
    expectBroken(await cliVerify(copy), 'audit.jsonl', 5, /deleted/);
  });

  it('fails on two swapped entries', async () => {
    const copy = copyAudit(base);
    const name = files[0] as string;
    const lines = fileLines(copy, name);
    [lines[19], lines[20]] = [lines[20] as string, lines[19] as string];
    writeFileLines(copy, name, lines);
    expectBroken(await cliVerify(copy), name, 20, /deleted or reordered/);
  });

  it('fails on a removed rotated file, naming the file missing', async () => {
    const copy = copyAudit(base);
    rmSync(join(auditDir(copy), files[1] as string));
    const v = await cliVerify(copy);
    expectBroken(v, files[2] as string, 1, new RegExp(`file ${files[1]} may have been removed`));
  });

  it('fails when the oldest file is removed (the start of the log)', async () => {
    const copy = copyAudit(base);
    rmSync(join(auditDir(copy), files[0] as string));
    expectBroken(await cliVerify(copy), files[1] as string, 1, /the start of the log was removed/);
  });

  it('fails on a renamed rotated file', async () => {
    const copy = copyAudit(base);
    const name = files[1] as string;
    const renamed = `audit-${String(Number(name.slice(6, 22)) + 1).padStart(16, '0')}.jsonl`;
    renameSync(join(auditDir(copy), name), join(auditDir(copy), renamed));
    expectBroken(await cliVerify(copy), renamed, 1, /renamed/);
  });

  it('fails on a line cut short inside a rotated file', async () => {
    const copy = copyAudit(base);
    const path = join(auditDir(copy), files[0] as string);
    truncateSync(path, statSync(path).size - 10);
    expectBroken(await cliVerify(copy), files[0] as string, fileLines(copy, files[0] as string).length + 1, /incomplete line/);
  });

  it('passes a partial last line (a crash mid-write) with a note, exit 0', async () => {
    const copy = copyAudit(base);
    const count = fileLines(copy, 'audit.jsonl').length;
    appendFileSync(join(auditDir(copy), 'audit.jsonl'), '{"seq":99999,"ts":"2026-');
    const v = await cliVerify(copy);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`note: ignored an incomplete last line (audit.jsonl:${count + 1}`);
    expect(v.json.partialTail).toMatchObject({ file: 'audit.jsonl', line: count + 1 });
  });

  it('fails on a cut tail without a running gateway: the anchor of the stop vouches for the last entry', async () => {
    const lines = fileLines(base, 'audit.jsonl');
    try {
      writeFileLines(base, 'audit.jsonl', lines.slice(0, -2));
      expectBroken(await cliVerify(base), 'audit.jsonl', lines.length - 1, /but the anchor of .* vouches for seq \d+: the tail was cut/);
    } finally {
      writeFileLines(base, 'audit.jsonl', lines);
    }
    expect((await cliVerify(base)).code).toBe(0);
  });
});

describe('verify against a running gateway', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway();
    for (let i = 0; i < 5; i++) await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `live-${i}`, scopes: ['read'] } });
  });
  afterAll(async () => {
    await g.stop();
  });

  it('passes while intact, through the API and the CLI (which compares with the head)', async () => {
    const api = await g.fetch('/api/v1/audit/verify');
    const head = await g.fetch('/api/v1/audit/head');
    expect(api.json).toMatchObject({ ok: true, headChecked: true, head: head.json, lastSeq: head.json.seq });
    const v = await cliVerify(g.dataDir);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`checked against the running gateway's head (seq ${head.json.seq})`);
  });

  it('fails when the last entries are cut, naming where the log now ends', async () => {
    const lines = fileLines(g.dataDir, 'audit.jsonl');
    try {
      writeFileLines(g.dataDir, 'audit.jsonl', lines.slice(0, -2));
      const api = await g.fetch('/api/v1/audit/verify');
      expect(api.json).toMatchObject({ ok: false, broken: { file: 'audit.jsonl', line: lines.length - 1 } });
      expect(api.json.broken.reason).toMatch(/the tail was cut/);
      expectBroken(await cliVerify(g.dataDir), 'audit.jsonl', lines.length - 1, /the tail was cut/);
    } finally {
      writeFileLines(g.dataDir, 'audit.jsonl', lines);
    }
    expect((await g.fetch('/api/v1/audit/verify')).json.ok).toBe(true);
  });

  it('fails when the last entry is edited, naming it', async () => {
    const lines = fileLines(g.dataDir, 'audit.jsonl');
    try {
      const edited = [...lines];
      edited[edited.length - 1] = (lines[lines.length - 1] as string).replace('"status":201', '"status":200');
      expect(edited).not.toEqual(lines);
      writeFileLines(g.dataDir, 'audit.jsonl', edited);
      const api = await g.fetch('/api/v1/audit/verify');
      expect(api.json).toMatchObject({ ok: false, broken: { file: 'audit.jsonl', line: lines.length } });
      expectBroken(await cliVerify(g.dataDir), 'audit.jsonl', lines.length, /was edited/);
    } finally {
      writeFileLines(g.dataDir, 'audit.jsonl', lines);
    }
  });
});
