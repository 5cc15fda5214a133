/**
 * Crashes and clean stops of a real `moat serve`: kill -9 under heavy writes leaves a log that
 * verifies up to its last complete line and a restart continues the chain; a partial last line
 * is cut on restart and recorded; a clean SIGTERM loses no acknowledged write.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { auditDir, fileLines, readEntries } from '../helpers/audit.js';
import { runCli, spawnServe, type ServeProcess } from '../helpers/cli.js';
import { startGateway, tmpDir } from '../helpers/gateway.js';

const ENV = { MOAT_RATE_LIMIT_GENERAL: '1000000', MOAT_LOG_LEVEL: 'warn' };

/** Every `moat serve` of a test, killed afterwards if a failed assertion left it running. */
const spawned: ServeProcess[] = [];
async function serve(dataDir: string): Promise<ServeProcess> {
  const p = await spawnServe(['--data-dir', dataDir, '--port', '0'], ENV);
  spawned.push(p);
  return p;
}
afterEach(() => {
  for (const p of spawned.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

function writer(p: ServeProcess, dataDir: string) {
  const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
  const dispatcher = new Agent({ connections: 64 });
  let n = 0;
  return {
    dispatcher,
    /** One write: a valid token creation or a refused body, alternately (both audited). */
    async write(given?: string): Promise<number> {
      const k = ++n;
      const id = given ?? `w-${k}`;
      const body = k % 2 === 0 ? { name: `crash-${id}`, scopes: ['read'] } : { name: 0 };
      const res = await request(`${p.url}/api/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify(body),
        dispatcher,
      });
      await res.body.dump();
      return res.statusCode;
    },
  };
}

async function verify(dataDir: string) {
  const res = await runCli(['audit', 'verify', '--data-dir', dataDir]);
  return { ...res, json: JSON.parse((await runCli(['audit', 'verify', '--data-dir', dataDir, '--json'])).stdout) as { ok: boolean; lastSeq: number } };
}

describe('kill -9 during heavy writes', () => {
  it('leaves a log that verifies up to its last complete line; a restart continues the chain', async () => {
    const dataDir = tmpDir();
    const p = await serve(dataDir);
    const w = writer(p, dataDir);
    let answered = 0;
    let killed = false;
    const loops = Array.from({ length: 32 }, async () => {
      while (!killed) {
        try {
          if ((await w.write()) > 0) answered++;
        } catch {
          return; // the gateway is gone
        }
        if (answered >= 600 && !killed) {
          killed = true;
          p.child.kill('SIGKILL');
        }
      }
    });
    await Promise.all(loops);
    expect(await p.exited).toBe(null); // killed by the signal, no exit code
    await w.dispatcher.destroy();

    const crashed = await verify(dataDir);
    expect(crashed.code).toBe(0);
    expect(crashed.stdout).toMatch(/^audit chain ok: /);
    const onDisk = readEntries(dataDir);
    expect(onDisk.length).toBeGreaterThan(100);
    expect(onDisk[onDisk.length - 1]?.type).not.toBe('gateway.shutdown');

    const again = await serve(dataDir);
    const w2 = writer(again, dataDir);
    expect(await w2.write('after-restart')).toBe(400);
    await w2.dispatcher.close();
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);

    const after = readEntries(dataDir).slice(onDisk.length);
    const seqs = after.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => crashed.json.lastSeq + 1 + i));
    expect(after.map((e) => e.type)).toEqual([
      ...(after[0]?.type === 'audit.recovered' ? ['audit.recovered'] : []),
      'gateway.boot',
      'security.heartbeat',
      'http.write',
      'gateway.shutdown',
    ]);
    expect(after[after.length - 1]?.detail).toMatchObject({ reason: 'SIGTERM' });
    const final = await verify(dataDir);
    expect(final.code).toBe(0);
    expect(final.stdout).not.toContain('incomplete last line');
  });
});

describe('a partial last line', () => {
  it('is cut on restart, recorded with its size and hash, and the chain continues', async () => {
    const first = await startGateway();
    await first.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'before-crash', scopes: ['read'] } });
    await first.stop();
    const lines = fileLines(first.dataDir, 'audit.jsonl');
    const lastSeq = (JSON.parse(lines[lines.length - 1] as string) as { seq: number }).seq;
    // A crash mid-write: half an entry, cut inside a two-byte character.
    const partial = Buffer.concat([
      Buffer.from(`{"seq":${lastSeq + 1},"ts":"x","prev":"y","type":"http.write","detail":{"name":"caf`),
      Buffer.from('é').subarray(0, 1),
    ]);
    appendFileSync(join(auditDir(first.dataDir), 'audit.jsonl'), partial);
    expect((await verify(first.dataDir)).stdout).toContain('note: ignored an incomplete last line');

    const second = await startGateway({ dataDir: first.dataDir });
    const api = await second.fetch('/api/v1/audit/verify');
    await second.stop();
    expect(api.json).toMatchObject({ ok: true });
    expect(api.json.partialTail).toBeUndefined();
    const after = readEntries(first.dataDir).slice(lines.length);
    expect(after[0]).toMatchObject({
      seq: lastSeq + 1,
      type: 'audit.recovered',
      detail: { cutBytes: partial.length, cutSha256: createHash('sha256').update(partial).digest('hex'), continuesAfterSeq: lastSeq },
    });
    expect(after[1]).toMatchObject({ seq: lastSeq + 2, type: 'gateway.boot' });
    const v = await verify(first.dataDir);
    expect(v.code).toBe(0);
    expect(v.stdout).not.toContain('incomplete');
  });
});

describe('a clean stop', () => {
  it('writes every acknowledged write, then the shutdown record, before the process exits', async () => {
    const dataDir = tmpDir();
    const p = await serve(dataDir);
    const w = writer(p, dataDir);
    const ids = Array.from({ length: 300 }, (_, i) => `ack-${i}`);
    const statuses = await Promise.all(ids.map((id) => w.write(id)));
    expect(statuses.every((s) => s === 201 || s === 400)).toBe(true);
    await w.dispatcher.close();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const entries = readEntries(dataDir);
    const audited = new Set(entries.filter((e) => e.type === 'http.write').map((e) => e.clientRequestId));
    expect(ids.filter((id) => !audited.has(id))).toEqual([]);
    expect(entries[entries.length - 1]).toMatchObject({ type: 'gateway.shutdown', detail: { reason: 'SIGTERM', drained: true } });
    expect((await verify(dataDir)).code).toBe(0);
  });

  it('lets go of the audit file: synced and closed once stop() returns', async () => {
    // In-process, so this process's own descriptors show whether the writer closed its file.
    const held = (dir: string) =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false; // the descriptor readdir itself used, closed by now
        }
      });
    for (let round = 0; round < 5; round++) {
      const g = await startGateway({ dataDir: tmpDir() });
      const dir = auditDir(g.dataDir);
      expect(held(dir).length).toBe(2); // audit.jsonl and security/audit.jsonl
      for (let i = 0; i < 3; i++) await g.fetch('/api/v1/tokens/nope', { method: 'DELETE' });
      await g.stop();
      expect(held(dir)).toEqual([]);
    }
  });
});
