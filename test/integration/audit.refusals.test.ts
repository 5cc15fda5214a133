/**
 * Refusal floods cannot wash out the record (HABITS 25): repeated refusals of one client are
 * counted into one entry per window (the first written at once), the counting table is bounded
 * (clients past audit.refusalClients are counted together as `*`), and a flood from many
 * addresses that rotates the main log past its retention leaves token.created in the security log,
 * with both chains verifying. Real gateways, real requests from distinct loopback addresses.
 */
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { readEntries, readSecurityEntries, type Entry } from '../helpers/audit.js';
import { runCli } from '../helpers/cli.js';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';

const FAST = { rateLimit: { general: { perMinute: 10_000_000 } }, limits: { maxInflight: 10_000 } };
const counted = (list: Entry[]) => list.reduce((n, e) => n + ((e.detail?.['count'] as number | undefined) ?? 1), 0);

const agents = new Map<string, Agent>();
/** A client at its own loopback address (127.0.0.0/8 is all local). */
function from(address: string): Agent {
  let a = agents.get(address);
  if (!a) agents.set(address, (a = new Agent({ localAddress: address, connections: 4 })));
  return a;
}
afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.close()));
});

/** `n` requests without a token from `address` (401 auth_required: not counted towards lockout). */
async function refuse(g: TestGateway, address: string, n: number, path = '/api/v1/status'): Promise<void> {
  for (let done = 0; done < n; ) {
    const batch = Math.min(50, n - done);
    const statuses = await Promise.all(Array.from({ length: batch }, () => send(from(address), g.url, '', path, { auth: false }).then((r) => r.status)));
    expect(statuses.every((s) => s === 401)).toBe(true);
    done += batch;
  }
}

async function apiEntries(g: TestGateway): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let after = 0; ; ) {
    const page = await g.fetch(`/api/v1/audit?after=${after}&limit=1000`);
    out.push(...(page.json.entries as Entry[]));
    if (page.json.next === null) return out;
    after = page.json.next;
  }
}

describe('refusals of one client', () => {
  it('are 2,000 refusals in two entries: the first at once, the other 1,999 counted and written at stop', async () => {
    const g = await startGateway(FAST);
    await refuse(g, '127.0.0.2', 2000);
    const live = (await apiEntries(g)).filter((e) => e.type === 'auth.failure');
    expect(live).toMatchObject([{ client: '127.0.0.2', code: 'auth_required', status: 401, route: '/api/v1/status', requestId: expect.any(String) }]);
    expect(live[0]?.detail?.['count']).toBeUndefined();
    await g.stop();
    const all = readEntries(g.dataDir);
    const failures = all.filter((e) => e.type === 'auth.failure');
    expect(failures).toHaveLength(2);
    expect(failures[1]).toMatchObject({
      client: '127.0.0.2',
      code: 'auth_required',
      outcome: 'denied',
      detail: {
        count: 1999,
        aggregated: true,
        routes: ['/api/v1/status'],
        lastRequestId: expect.any(String),
        from: expect.any(String),
        to: expect.any(String),
      },
    });
    expect(counted(failures)).toBe(2000);
    // The counts come before the shutdown record, which stays the last entry.
    expect(all[all.length - 1]).toMatchObject({ type: 'gateway.shutdown' });
    expect(all.length).toBeLessThan(20);
  });

  it('are written as one count when their window closes, and the next window starts with an entry at once', async () => {
    const g = await startGateway({ ...FAST, audit: { refusalWindow: 1 } });
    try {
      await refuse(g, '127.0.0.3', 100);
      await expect
        .poll(async () => (await apiEntries(g)).filter((e) => e.type === 'auth.failure' && e.detail?.['aggregated'] === true).length, {
          timeout: 10_000,
          interval: 100,
        })
        .toBe(1);
      const [first, count] = (await apiEntries(g)).filter((e) => e.type === 'auth.failure');
      expect(first?.detail?.['count']).toBeUndefined();
      expect(count?.detail).toMatchObject({ count: 99 });
      await refuse(g, '127.0.0.3', 1);
      const after = (await apiEntries(g)).filter((e) => e.type === 'auth.failure');
      expect(after).toHaveLength(3);
      expect(after[2]?.detail?.['count']).toBeUndefined();
    } finally {
      await g.stop();
    }
  });

  it('are counted per client, kind and code: another client, or another refusal, gets its own entry at once', async () => {
    const g = await startGateway(FAST);
    try {
      await refuse(g, '127.0.0.4', 3);
      await refuse(g, '127.0.0.5', 3);
      expect((await send(from('127.0.0.4'), g.url, `moat_${'w'.repeat(43)}`, '/api/v1/status')).status).toBe(401);
      const live = (await apiEntries(g)).filter((e) => e.type === 'auth.failure');
      expect(live.map((e) => [e.client, e.code])).toEqual([
        ['127.0.0.4', 'auth_required'],
        ['127.0.0.5', 'auth_required'],
        ['127.0.0.4', 'token_invalid'],
      ]);
    } finally {
      await g.stop();
    }
  });
});

describe('the counting table', () => {
  it('holds audit.refusalClients clients; refusals of the others are counted together with client *', async () => {
    const g = await startGateway({ ...FAST, audit: { refusalClients: 3 } });
    const addresses = Array.from({ length: 8 }, (_, i) => `127.0.1.${i + 1}`);
    for (const a of addresses) await refuse(g, a, 5);
    await g.stop();
    const failures = readEntries(g.dataDir).filter((e) => e.type === 'auth.failure');
    const named = failures.filter((e) => e.client !== '*');
    expect(new Set(named.map((e) => e.client))).toEqual(new Set(addresses.slice(0, 3)));
    const rest = failures.filter((e) => e.client === '*');
    expect(rest).toMatchObject([
      { code: 'auth_required', detail: { count: 25, aggregated: true, clients: expect.stringMatching(/more than 3 refused clients/) } },
    ]);
    expect(counted(failures)).toBe(40);
    expect(failures.length).toBe(3 * 2 + 1);
  });
});

describe('a refusal flood longer than the retention', () => {
  it('rotates and prunes the main log, but token.created stays in the security log and both chains verify', async () => {
    // Small files, one kept: the flood prunes the main log within seconds.
    const g = await startGateway({ ...FAST, audit: { rotateBytes: 65_536, keep: 1, refusalWindow: 1 } });
    const created = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'before-the-flood', scopes: ['read'] } });
    expect(created.status).toBe(201);
    const addresses = Array.from({ length: 200 }, (_, i) => `127.0.2.${i + 1}`);
    const mainHasToken = () => readEntries(g.dataDir).some((e) => e.type === 'token.created' && e.detail?.['tokenId'] === created.json.id);
    await g.fetch('/api/v1/audit/head'); // what was recorded is written (the writer is off the request path)
    expect(mainHasToken()).toBe(true);
    let refusals = 0;
    for (let round = 0; round < 40 && mainHasToken(); round++) {
      await Promise.all(addresses.map((a) => refuse(g, a, 3)));
      refusals += addresses.length * 3;
      await g.fetch('/api/v1/audit/head'); // what was recorded is written
    }
    expect(mainHasToken()).toBe(false);
    const pruned = readEntries(g.dataDir)
      .filter((e) => e.type === 'audit.rotated')
      .flatMap((e) => e.detail?.['pruned'] as string[]);
    expect(pruned.length).toBeGreaterThan(0);

    const security = readSecurityEntries(g.dataDir);
    expect(security.filter((e) => e.type === 'token.created')).toMatchObject([
      { detail: { tokenId: created.json.id, name: 'before-the-flood' }, mainSeq: expect.any(Number) },
    ]);
    expect(security.some((e) => e.type === 'auth.failure')).toBe(false);
    // The security log records the rotations that pruned the main log, so the gap is explained there too.
    expect(security.filter((e) => e.type === 'audit.rotated').flatMap((e) => e.detail?.['pruned'] as string[])).toEqual(expect.arrayContaining(pruned));

    const api = await g.fetch('/api/v1/audit/verify');
    expect(api.json).toMatchObject({ ok: true, headChecked: true, security: { ok: true, headChecked: true } });
    expect(api.json.firstSeq).toBeGreaterThan(1);
    await g.stop();
    const cli = await runCli(['audit', 'verify', '--data-dir', g.dataDir]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^audit chain ok: .*\nsecurity log ok: \d+ entries/);
    expect(refusals).toBeGreaterThan(0);
  });
});
