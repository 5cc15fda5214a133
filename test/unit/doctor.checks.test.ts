/**
 * The pure parts of the watch: token strength, the 24 h hourly counter, request slots, and the
 * checks whose broken state a running gateway cannot reach from outside (a weak ntfy topic is
 * refused at boot; dropped audit entries need a failing disk), judged on a snapshot.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CHECKS } from '../../src/domain/doctor/index.js';
import { tokenStrength } from '../../src/domain/doctor/tokens.js';
import type { DoctorContext, GatewayFacts } from '../../src/domain/doctor/types.js';
import { HourlyCounter } from '../../src/observe/counters.js';
import { RES_SLOT, RES_START, RequestMetrics, type ObservedResponse } from '../../src/observe/request-metrics.js';

const HOUR = 3_600_000;

describe('tokenStrength', () => {
  it.each([
    ['a generated token', `moat_${'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v'}`, true, false],
    ['64 hex characters', 'a3f9c2e17b04d85f6e2a9c13b7d04f8e5a6c2b19d37e0f48c5a1b6e29d7f03c4', true, false],
    ['a repeated word', 'hunter2hunter2hunter2hunter2hunter2', false, true],
    ['one character', 'x'.repeat(40), false, true],
    ['few distinct characters', 'abcdabcdabcdabcdabcdabcdabcdabcdX', false, true],
  ])('judges %s', (_what, token, strong, weak) => {
    const s = tokenStrength(token);
    expect(s.strong).toBe(strong);
    expect(s.weak).toBe(weak);
  });
});

describe('HourlyCounter', () => {
  it('sums the current hour and the 23 before it, and forgets older hours', () => {
    const c = new HourlyCounter();
    const t0 = 1_000 * HOUR;
    c.add(t0);
    c.add(t0 + 10 * HOUR, 2);
    expect(c.last24h(t0 + 10 * HOUR)).toBe(3);
    expect(c.last24h(t0 + 23 * HOUR)).toBe(3);
    expect(c.last24h(t0 + 24 * HOUR)).toBe(2); // the first hour left the window
    c.add(t0 + 24 * HOUR); // reuses the first hour's bucket
    expect(c.last24h(t0 + 24 * HOUR)).toBe(3);
    expect(c.last24h(t0 + 40 * HOUR)).toBe(1);
    expect(c.total).toBe(4);
  });
});

describe('RequestMetrics', () => {
  const response = (slot: number | undefined, status: number, ended = true, method = 'GET'): ObservedResponse => ({
    statusCode: status,
    writableEnded: ended,
    req: { method },
    ...(slot === undefined ? {} : { [RES_SLOT]: slot }),
    [RES_START]: performance.now(),
  });

  it('gives each route and method one slot, the same when registered again', () => {
    const m = new RequestMetrics();
    const a = m.slotsFor('/a', ['GET']);
    expect(m.slotsFor('/a', ['GET'])).toEqual(a);
    const multi = m.slotsFor('/b', ['GET', 'POST']);
    expect(multi.byMethod).toEqual({ GET: expect.any(Number), POST: expect.any(Number) });
    expect(m.slotCount).toBe(11); // 8 unmatched slots (7 methods and OTHER), then /a, /b GET, /b POST
  });

  it('counts by status class, aborted responses apart, and unrouted requests as (unmatched)', () => {
    const m = new RequestMetrics();
    const { slot } = m.slotsFor('/a', ['GET']);
    m.closed(response(slot, 200));
    m.closed(response(slot, 204));
    m.closed(response(slot, 503));
    m.closed(response(slot, 200, false));
    m.closed(response(undefined, 400, true, 'BREW'));
    const view = m.view();
    expect(view.find((v) => v.route === '/a')).toMatchObject({ method: 'GET', counts: [1, 0, 2, 0, 0, 1] });
    expect(view.find((v) => v.route === '(unmatched)')).toMatchObject({ method: 'OTHER', counts: [0, 0, 0, 0, 1, 0] });
    const a = view.find((v) => v.route === '/a')!;
    expect(a.buckets.reduce((x, y) => x + y, 0)).toBe(4);
  });
});

const KEY = {
  path: '/nonexistent-keys/audit.key',
  anchorFile: '/nonexistent-keys/audit-anchors.jsonl',
  mode: 0o600,
  uid: 0,
  gid: 0,
  ownUid: 0,
  ownGid: 0,
  insideDataDir: false,
  anchorInsideDataDir: false,
};

/** A snapshot of a healthy running gateway with `patch` applied to its facts. */
function context(values: Record<string, unknown>, patch: Partial<GatewayFacts> = {}): DoctorContext {
  const { config, sources } = loadConfig({ values: { dataDir: '/nonexistent', ...values } });
  const gateway: GatewayFacts = {
    config,
    sources,
    posture: { host: '127.0.0.1', bindClass: 'loopback', tls: false, auth: true, warnings: [] },
    bind: '127.0.0.1:7878',
    startedAt: 0,
    tlsMinVersion: 'TLSv1.3',
    adminToken: { source: 'file', origin: null, strength: tokenStrength(`moat_${'A'.repeat(43)}`), issuedAt: 0 },
    adminTokensWithoutExpiry: [],
    services: [],
    sandbox: { available: true, reason: null },
    highRiskOpen: [],
    activity: { authFailures24h: 0, credentialFailures24h: 0, lockouts24h: 0, forwarded24h: 0, lastForwardedAt: null },
    auditWriter: { backlog: 0, dropped: 0, maxQueue: 10_000 },
    ...patch,
  };
  return {
    now: 1000,
    dataDir: '/nonexistent',
    dataDirExists: true,
    modes: [],
    tokenFile: 'ok',
    certificate: null,
    renewWithinDays: 30,
    audit: { verify: null, error: 'n/a' },
    auditKey: KEY,
    gateway,
  };
}

const run = (id: string, ctx: DoctorContext) => CHECKS.find((c) => c.id === id)!.run(ctx);

describe('checks whose broken state is out of reach from outside', () => {
  it('ntfy.topic fails a short or well-known topic (boot refuses one; a live change could bring one)', () => {
    expect(run('ntfy.topic', context({ notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'Moat7f3kQ9zXw2LpR8vN4tYb6cJd' } } })).severity).toBe('ok');
    const ctx = context({});
    (ctx.gateway as { config: unknown }).config = { ...ctx.gateway!.config, notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'alerts' } } };
    expect(run('ntfy.topic', ctx)).toMatchObject({ severity: 'fail', finding: expect.stringContaining('well-known topic') });
  });

  it('audit.writer fails when entries were dropped and warns while the queue is full', () => {
    expect(run('audit.writer', context({})).severity).toBe('ok');
    expect(run('audit.writer', context({}, { auditWriter: { backlog: 10, dropped: 3, maxQueue: 100 } })).severity).toBe('fail');
    expect(run('audit.writer', context({}, { auditWriter: { backlog: 100, dropped: 0, maxQueue: 100 } })).severity).toBe('warn');
  });

  it('bind fails a non-loopback bind without auth or TLS (the boot matrix refuses it: seeing it means it was bypassed)', () => {
    const ctx = context({}, { posture: { host: '10.0.0.2', bindClass: 'specific', tls: false, auth: true, warnings: [] } });
    expect(run('bind', ctx).severity).toBe('fail');
  });

  it('audit.chain fails when the log cannot be read', () => {
    expect(run('audit.chain', context({}))).toMatchObject({ severity: 'fail', finding: 'the audit log could not be read: n/a' });
  });
});
