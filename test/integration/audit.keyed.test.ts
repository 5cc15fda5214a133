/**
 * The keyed chain from outside, as someone who can write the data dir but not read the chain key:
 * every way of rewriting the files while no gateway runs (an edit re-chained with plain SHA-256, a
 * deletion re-chained, every mac dropped, a cut tail, a forged entry, a replaced log) fails
 * `moat audit verify` offline and GET /api/v1/audit/verify on the gateway restarted on them. A
 * holder of the key who appends past a running gateway's head is caught against that head.
 */
import { createHash, createHmac, createPublicKey, hkdfSync, verify as verifySignature } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDir, fileLines, readEntries, readSecurityEntries, writeFileLines, type Entry } from '../helpers/audit.js';
import { runCli } from '../helpers/cli.js';
import { check, doctorCli } from '../helpers/doctor.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What someone without the key can do: drop the macs from `from` on and link each line to the SHA-256 of the one before. */
function rechainPlain(lines: string[], from: number): string[] {
  const out = lines.slice(0, from);
  for (let i = from; i < lines.length; i++) {
    const e = JSON.parse(lines[i] as string) as Entry;
    delete e.mac;
    const before = out[i - 1];
    if (before !== undefined) {
      e.seq = (JSON.parse(before) as Entry).seq + 1;
      e.prev = sha256(before);
    }
    out.push(JSON.stringify(e));
  }
  return out;
}

/** The chain's HMAC key, as someone who can read the key file derives it (docs/audit.md). */
function chainKey(keyFile: string): Buffer {
  const secret = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'moat audit chain v1', 32));
}
function keyedLine(key: Buffer, entry: Record<string, unknown>): string {
  const covered = JSON.stringify(entry);
  return `${covered.slice(0, -1)},"mac":"${createHmac('sha256', key).update(covered).digest('hex')}"}`;
}

interface Verdict {
  code: number | null;
  json: {
    ok: boolean;
    broken?: { file: string; line: number; reason: string };
    notes: string[];
    keyed: { keyedFrom: number | null };
    security: { ok: boolean };
  };
}
async function cliVerify(dataDir: string, keyFile: string): Promise<Verdict> {
  const res = await runCli(['audit', 'verify', '--data-dir', dataDir, '--json'], { MOAT_AUDIT_KEY_FILE: keyFile });
  return { code: res.code, json: JSON.parse(res.stdout) as Verdict['json'] };
}

/** A key file of its own, in a directory that does not exist yet. */
function freshKeyFile(): string {
  return join(tmpDir('moat-keydir-'), 'etc-moat', 'audit.key');
}

describe('a keyed log rewritten while no gateway runs', () => {
  const keyFile = freshKeyFile();
  const anchorFile = join(keyFile, '..', 'audit-anchors.jsonl');
  let dataDir: string;
  let pristine: string;
  let pristineAnchors: string;

  beforeAll(async () => {
    const g = await startGateway({ audit: { keyFile } });
    for (let i = 0; i < 6; i++) expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: `keyed-${i}`, scopes: ['read'] } })).status).toBe(201);
    await g.stop();
    dataDir = g.dataDir;
    pristine = tmpDir('moat-pristine-');
    cpSync(auditDir(dataDir), pristine, { recursive: true });
    pristineAnchors = readFileSync(anchorFile, 'utf8');
  });

  /** Puts the log and the anchors back as the gateway left them. */
  function restore(): void {
    rmSync(auditDir(dataDir), { recursive: true, force: true });
    cpSync(pristine, auditDir(dataDir), { recursive: true });
    writeFileSync(anchorFile, pristineAnchors);
  }

  it('verifies as it was left: every entry keyed, checked against the anchor of the stop', async () => {
    const v = await cliVerify(dataDir, keyFile);
    expect(v.code).toBe(0);
    expect(v.json).toMatchObject({
      ok: true,
      keyed: { keyedFrom: 1, unkeyed: null },
      anchors: { checked: expect.any(Number), newest: { seq: readEntries(dataDir).length } },
    });
    expect(readEntries(dataDir).every((e) => /^[0-9a-f]{64}$/.test(e.mac ?? ''))).toBe(true);
  });

  const tokenLine = (lines: string[]) => lines.findIndex((l) => l.includes('"type":"token.created"'));
  const cases: Array<[string, (lines: string[]) => string[], RegExp]> = [
    [
      'an entry edited, the chain re-computed with plain SHA-256',
      (lines) => {
        const i = tokenLine(lines);
        lines[i] = (lines[i] as string).replace('"keyed-0"', '"innocent"');
        return rechainPlain(lines, i);
      },
      /carries no mac after keyed entries/,
    ],
    [
      'an entry edited, its mac kept',
      (lines) => {
        const i = tokenLine(lines);
        lines[i] = (lines[i] as string).replace('"keyed-0"', '"innocent"');
        return lines;
      },
      /was edited \(or keyed under another key\): its mac does not verify/,
    ],
    [
      'an entry deleted, the chain re-computed with plain SHA-256',
      (lines) =>
        rechainPlain(
          lines.filter((_, i) => i !== tokenLine(lines)),
          tokenLine(lines),
        ),
      /carries no mac after keyed entries/,
    ],
    ['an entry deleted, the rest kept', (lines) => lines.filter((_, i) => i !== tokenLine(lines)), /deleted or reordered/],
    [
      'every mac dropped and the whole log re-chained with plain SHA-256',
      (lines) => rechainPlain(lines, 0),
      /no entry is keyed although the chain key .* exists/,
    ],
    ['the last three entries cut', (lines) => lines.slice(0, -3), /vouches for seq \d+: the tail was cut/],
    [
      'an entry appended with a made-up mac',
      (lines) => {
        const last = JSON.parse(lines[lines.length - 1] as string) as Entry;
        const forged = { seq: last.seq + 1, ts: new Date().toISOString(), prev: last.mac, type: 'token.revoked', outcome: 'ok', detail: { tokenId: 'admin' } };
        return [...lines, `${JSON.stringify(forged).slice(0, -1)},"mac":"${'ab'.repeat(32)}"}`];
      },
      /seq \d+ was edited \(or keyed under another key\)/,
    ],
    ['the log replaced by an empty one', () => [], /the log ends at seq 0 but the anchor of .* vouches for seq \d+/],
  ];

  it.each(cases)('fails %s, offline and on the gateway restarted on it', async (_name, tamper, reason) => {
    try {
      writeFileLines(dataDir, 'audit.jsonl', tamper(fileLines(dataDir, 'audit.jsonl')));
      const offline = await cliVerify(dataDir, keyFile);
      expect(offline.code).toBe(1);
      expect(offline.json.ok).toBe(false);
      expect(offline.json.broken?.reason).toMatch(reason);

      const g = await startGateway({ dataDir, audit: { keyFile } });
      try {
        const api = await g.fetch('/api/v1/audit/verify');
        expect(api.status).toBe(200);
        expect(api.json.ok).toBe(false);
        expect(api.json.broken.reason).toEqual(expect.any(String));
      } finally {
        await g.stop();
      }
      expect((await cliVerify(dataDir, keyFile)).code).toBe(1);
    } finally {
      restore();
    }
    expect((await cliVerify(dataDir, keyFile)).code).toBe(0);
  });

  it('records at the next start that the log no longer reaches its newest anchor', async () => {
    try {
      writeFileLines(dataDir, 'audit.jsonl', fileLines(dataDir, 'audit.jsonl').slice(0, -2));
      const g = await startGateway({ dataDir, audit: { keyFile } });
      await g.stop();
      const mismatch = readEntries(dataDir).filter((e) => e.type === 'audit.anchor_mismatch');
      expect(mismatch).toMatchObject([
        {
          outcome: 'error',
          detail: {
            reason: expect.stringMatching(/the main log ends at seq \d+ but the anchor of .* vouches for seq \d+: entries were cut while no gateway ran/),
          },
        },
      ]);
      // A security event: it is in the security log too.
      expect(readSecurityEntries(dataDir).some((e) => e.type === 'audit.anchor_mismatch')).toBe(true);
    } finally {
      restore();
    }
  });

  it('fails on an anchor line that was forged or edited', async () => {
    try {
      const lines = pristineAnchors.trim().split('\n');
      const edited = JSON.parse(lines[lines.length - 1] as string) as { main: { seq: number } };
      edited.main.seq -= 1;
      appendFileSync(anchorFile, `${JSON.stringify(edited)}\n`);
      const v = await cliVerify(dataDir, keyFile);
      expect(v.code).toBe(1);
      expect(v.json.broken).toMatchObject({
        file: anchorFile,
        line: lines.length + 1,
        reason: expect.stringMatching(/does not verify under the chain key: it was forged or edited/),
      });
    } finally {
      restore();
    }
  });
});

describe('a running gateway against a holder of the key', () => {
  const keyFile = freshKeyFile();
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway({ audit: { keyFile } });
    await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'live', scopes: ['read'] } });
  });
  afterAll(async () => {
    await g.stop();
  });

  it('fails an entry appended past its head, even with a valid mac', async () => {
    const head = (await g.fetch('/api/v1/audit/head')).json as { seq: number; hash: string };
    const path = join(auditDir(g.dataDir), 'audit.jsonl');
    const size = statSync(path).size;
    const forged = keyedLine(chainKey(keyFile), {
      seq: head.seq + 1,
      ts: new Date().toISOString(),
      prev: head.hash,
      type: 'token.revoked',
      outcome: 'ok',
      detail: { tokenId: 'admin' },
    });
    appendFileSync(path, `${forged}\n`);
    try {
      const api = await g.fetch('/api/v1/audit/verify');
      expect(api.json).toMatchObject({
        ok: false,
        broken: {
          file: 'audit.jsonl',
          reason: expect.stringMatching(/newer than anything the running gateway has written .*: it was appended by someone else/),
        },
      });
      const cli = await cliVerify(g.dataDir, keyFile);
      expect(cli.code).toBe(1);
      expect(cli.json.broken?.reason).toMatch(/appended by someone else/);
    } finally {
      truncateSync(path, size);
    }
    expect((await g.fetch('/api/v1/audit/verify')).json.ok).toBe(true);
  });

  it('publishes anchors that anyone with the public key can check, without the chain key', async () => {
    const v = await g.fetch('/api/v1/audit/verify');
    const publicKey = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(v.json.publicKey as string, 'base64')]),
      format: 'der',
      type: 'spki',
    });
    const anchors = readFileSync(v.json.anchorFile as string, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(anchors.length).toBeGreaterThan(0);
    for (const a of anchors) {
      const signed = JSON.stringify({ v: a['v'], ts: a['ts'], dataDir: a['dataDir'], key: a['key'], main: a['main'], security: a['security'] });
      expect(verifySignature(null, Buffer.from(signed), publicKey, Buffer.from(a['sig'] as string, 'base64'))).toBe(true);
      expect(verifySignature(null, Buffer.from(signed.replace('"seq":', '"seq":1')), publicKey, Buffer.from(a['sig'] as string, 'base64'))).toBe(false);
    }
    expect(JSON.stringify(anchors)).not.toContain(readFileSync(keyFile, 'utf8').trim());
  });
});

describe('the chain key file', () => {
  it('is created 0600 on first start, in a directory created 0700, and reused after a restart', async () => {
    const keyFile = freshKeyFile();
    const first = await startGateway({ audit: { keyFile } });
    await first.stop();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(keyFile, '..')).mode & 0o777).toBe(0o700);
    const key = readFileSync(keyFile, 'utf8');
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const second = await startGateway({ dataDir: first.dataDir, audit: { keyFile } });
    await second.stop();
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    const created = readEntries(first.dataDir).filter((e) => e.type === 'audit.key_created');
    expect(created).toMatchObject([{ outcome: 'ok', detail: { file: keyFile, key: expect.stringMatching(/^[0-9a-f]{16}$/) } }]);
    expect(readSecurityEntries(first.dataDir).filter((e) => e.type === 'audit.key_created')).toHaveLength(1);
    expect(JSON.stringify(readEntries(first.dataDir))).not.toContain(key.trim());
    expect(readEntries(first.dataDir).some((e) => e.type === 'audit.keyed')).toBe(false);
  });

  it.each([
    ['the key file', (d: string, k: string) => ({ keyFile: join(d, 'audit.key'), anchorFile: join(k, 'a.jsonl') })],
    [
      'the key file, through a symbolic link to the data dir',
      (d: string, k: string) => {
        symlinkSync(d, join(k, 'looks-elsewhere'));
        return { keyFile: join(k, 'looks-elsewhere', 'audit.key'), anchorFile: join(k, 'a.jsonl') };
      },
    ],
    ['the anchor file', (d: string, k: string) => ({ keyFile: join(k, 'audit.key'), anchorFile: join(d, 'audit', 'anchors.jsonl') })],
  ])('refuses to boot with %s inside the data dir (config_invalid), writing no key', async (_name, where) => {
    const dataDir = tmpDir();
    const keys = tmpDir('moat-keydir-');
    const audit = where(dataDir, keys);
    await expect(startGateway({ dataDir, audit })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/is inside the data dir .*: whoever can write the data dir could re-chain the audit log/),
    });
    expect(() => statSync(audit.keyFile)).toThrow();
  });

  it('refuses to boot with a key file that is not a key, and leaves the file as it was', async () => {
    const keyFile = freshKeyFile();
    mkdirSync(join(keyFile, '..'), { recursive: true });
    writeFileSync(keyFile, 'not a key\n', { mode: 0o600 });
    await expect(startGateway({ audit: { keyFile } })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/is not an audit chain key .*restore it from a backup/),
    });
    expect(readFileSync(keyFile, 'utf8')).toBe('not a key\n');
  });

  it('boots with a replaced key, records that the log does not verify under it, and verify names the first entry it cannot check', async () => {
    const keyFile = freshKeyFile();
    const first = await startGateway({ audit: { keyFile } });
    await first.stop();
    const lost = readFileSync(keyFile, 'utf8');
    rmSync(keyFile);
    const second = await startGateway({ dataDir: first.dataDir, audit: { keyFile } });
    const api = await second.fetch('/api/v1/audit/verify');
    await second.stop();
    expect(readFileSync(keyFile, 'utf8')).not.toBe(lost);
    expect(readEntries(first.dataDir).filter((e) => e.type === 'audit.keyed')).toMatchObject([
      { outcome: 'error', detail: { reason: expect.stringMatching(/does not verify under this chain key/) } },
    ]);
    expect(api.json).toMatchObject({
      ok: false,
      broken: { file: 'audit.jsonl', line: 1, reason: expect.stringMatching(/its mac does not verify under the chain key/) },
    });
  });
});

describe('a log written before the chain was keyed', () => {
  it('verifies up to where keying starts, is keyed from the next start on, and its old entries are then held by the keyed ones', async () => {
    const dataDir = tmpDir();
    mkdirSync(auditDir(dataDir), { recursive: true, mode: 0o700 });
    const lines: string[] = [];
    for (let seq = 1; seq <= 5; seq++) {
      const prev = seq === 1 ? '0'.repeat(64) : sha256(lines[seq - 2] as string);
      lines.push(
        JSON.stringify({ seq, ts: '2026-10-01T00:00:00.000Z', prev, type: seq === 2 ? 'token.created' : 'http.write', outcome: 'ok', detail: { n: seq } }),
      );
    }
    writeFileSync(join(auditDir(dataDir), 'audit.jsonl'), lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
    const keyFile = freshKeyFile();

    // Before any start of this version: no key yet, the old chain verifies and says it is unkeyed.
    const before = await cliVerify(dataDir, keyFile);
    expect(before.code).toBe(0);
    expect(before.json.notes).toContainEqual(
      expect.stringMatching(/^entries seq 1\.\.5 were written before the chain was keyed .*anyone who can write the files could have re-chained them/),
    );

    const g = await startGateway({ dataDir, audit: { keyFile } });
    await g.stop();
    const entries = readEntries(dataDir);
    expect(entries[5]).toMatchObject({ seq: 6, type: 'audit.keyed', outcome: 'ok', prev: sha256(lines[4] as string), detail: { unkeyedThrough: 5 } });
    const after = await cliVerify(dataDir, keyFile);
    expect(after.code).toBe(0);
    expect(after.json.keyed).toMatchObject({ keyedFrom: 6, unkeyed: { firstSeq: 1, lastSeq: 5 } });
    expect(after.json.notes).toContainEqual(expect.stringMatching(/the keyed entries from seq 6 on vouch for them/));

    // An old entry edited and the old chain re-computed: the first keyed entry still names the original.
    const current = fileLines(dataDir, 'audit.jsonl');
    current[1] = (current[1] as string).replace('"n":2', '"n":20');
    writeFileLines(dataDir, 'audit.jsonl', [...rechainPlain(current.slice(0, 5), 1), ...current.slice(5)]);
    const tampered = await cliVerify(dataDir, keyFile);
    expect(tampered.code).toBe(1);
    expect(tampered.json.broken).toMatchObject({
      file: 'audit.jsonl',
      line: 5,
      reason: expect.stringMatching(/entry seq 5 was edited: its link is not the prev recorded by the next entry/),
    });
  });
});

describe('moat doctor on the chain key (audit.key)', () => {
  let dataDir: string;
  let keyFile: string;
  beforeAll(async () => {
    keyFile = freshKeyFile();
    const g = await startGateway({ audit: { keyFile } });
    await g.stop();
    dataDir = g.dataDir;
  });
  const doctorKey = async (file = keyFile) => check((await doctorCli(dataDir, [], { MOAT_AUDIT_KEY_FILE: file })).report, 'audit.key');

  it('is ok for the key as created: 0600, owned by the gateway user, outside the data dir', async () => {
    expect(await doctorKey()).toMatchObject({ severity: 'ok', finding: expect.stringContaining(`the audit chain key ${keyFile} (mode 0600`) });
  });

  it.each([
    ['0644', 0o644, 0, 0, 'fail', /is open to other users: they can read it and re-chain the log/],
    ['0604', 0o604, 0, 0, 'fail', /is open to other users/],
    ['0620', 0o620, 0, 0, 'fail', /is writable by its group/],
    ['0600', 0o600, 4242, 0, 'fail', /belongs to another user, who can replace it/],
    ['0640', 0o640, 0, 4242, 'warn', /is readable by its group \(gid 4242\)/],
    ['0640', 0o640, 0, 0, 'ok', /outside the data dir/],
  ] as const)('judges mode %s, owner uid %i, group gid %i as %s', async (_label, mode, uid, gid, severity, finding) => {
    try {
      chmodSync(keyFile, mode);
      chownSync(keyFile, uid, gid);
      const f = await doctorKey();
      expect(f).toMatchObject({ severity, fixable: false });
      expect(f.finding).toMatch(finding);
    } finally {
      chownSync(keyFile, 0, 0);
      chmodSync(keyFile, 0o600);
    }
  });

  it('fails a missing key while the log is keyed, and a key inside the data dir', async () => {
    expect(await doctorKey(join(keyFile, '..', 'gone.key'))).toMatchObject({
      severity: 'fail',
      finding: expect.stringMatching(/is missing: the keyed entries cannot be checked/),
    });
    const inside = join(dataDir, 'audit.key');
    cpSync(keyFile, inside);
    expect(await doctorKey(inside)).toMatchObject({
      severity: 'fail',
      finding: expect.stringMatching(/is inside the data dir: whoever can write the data dir can re-chain the log/),
    });
  });

  it('moat audit key --create makes the key an install can then hand to the service', async () => {
    const file = freshKeyFile();
    const made = await runCli(['audit', 'key', '--create', '--json'], { MOAT_AUDIT_KEY_FILE: file });
    expect(made.code).toBe(0);
    const info = JSON.parse(made.stdout) as { created: boolean; id: string; publicKey: string };
    expect(info).toMatchObject({ keyFile: file, created: true, exists: true, id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await runCli(['audit', 'key', '--json', '--audit-key-file', file]);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, id: info.id, publicKey: info.publicKey });
    expect(made.stdout + again.stdout).not.toContain(readFileSync(file, 'utf8').trim());
  });
});

describe('head anchors sent to the notifier (audit.anchorNotify)', () => {
  it('posts each new anchor to the webhook (signed) and to ntfy at priority min, every anchorInterval while the log grows', async () => {
    const hits: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        hits.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const topic = 'Moat7f3kQ9zXw2LpR8vN4tYb6cJd';
    const g = await startGateway({
      audit: { keyFile: freshKeyFile(), anchorNotify: true, anchorInterval: 1 },
      notifications: { ntfy: { url: base, topic }, webhook: { url: `${base}/webhook` } },
      egress: { purposes: { notify: { allowCidrs: ['127.0.0.1/32'] } } },
    });
    try {
      await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'anchored', scopes: ['read'] } });
      const head = (await g.fetch('/api/v1/audit/head')).json as { seq: number };
      const webhookAnchor = () =>
        hits
          .filter((h) => h.url === '/webhook')
          .map((h) => ({ h, body: JSON.parse(h.body) as { type: string; anchor: { main: { seq: number }; ts: string; sig: string; [k: string]: unknown } } }))
          .find((x) => x.body.type === 'audit.anchor' && x.body.anchor.main.seq >= head.seq);
      await expect.poll(() => webhookAnchor() !== undefined, { timeout: 10_000, interval: 100 }).toBe(true);
      const { h, body } = webhookAnchor()!;
      expect(h.headers['moat-signature']).toMatch(/^t=\d+,v2=[0-9a-f]{64}$/);
      const v = await g.fetch('/api/v1/audit/verify');
      const publicKey = createPublicKey({
        key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(v.json.publicKey as string, 'base64')]),
        format: 'der',
        type: 'spki',
      });
      const a = body.anchor;
      const signed = JSON.stringify({ v: a['v'], ts: a.ts, dataDir: a['dataDir'], key: a['key'], main: a.main, security: a['security'] });
      expect(verifySignature(null, Buffer.from(signed), publicKey, Buffer.from(a.sig, 'base64'))).toBe(true);
      // The same anchor is a line of the anchor file.
      expect(readFileSync(v.json.anchorFile as string, 'utf8')).toContain(a.sig);
      const ntfy = hits.find((x) => x.url === `/${topic}` && x.body.includes(a.sig));
      expect(ntfy?.headers['priority']).toBe('min');
    } finally {
      await g.stop();
      await new Promise((r) => receiver.close(r));
    }
  });
});
