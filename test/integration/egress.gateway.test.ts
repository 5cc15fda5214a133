/**
 * The egress guard inside a real gateway: POST /api/v1/egress/check (admin) answers allowed,
 * denied, unparseable and unresolvable without sending anything; refusals of gateway.egress
 * requests land in the hash-chained audit log (GET /api/v1/audit) and the log, without secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemBody } from '../../src/http/problem.js';
import { countingListener, tableResolver } from '../helpers/egress.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let t: TestGateway;
let evil: Awaited<ReturnType<typeof countingListener>>;
const resolver = tableResolver({ 'public.test': ['93.184.215.14'], 'lan.test': ['192.168.1.20'], 'rebind.test': ['127.0.0.1'] });

beforeAll(async () => {
  evil = await countingListener('127.0.0.1');
  t = await startGateway(
    { egress: { purposes: { callback: { allowCidrs: ['192.168.1.0/24', '169.254.0.0/16'] }, forward: { allowCidrs: ['127.0.0.1/32'] } } } },
    { egressResolver: resolver },
  );
});
afterAll(async () => {
  await t.stop();
  await evil.close();
});

const check = (body: unknown, auth?: string) => t.fetch('/api/v1/egress/check', { method: 'POST', body, ...(auth ? { auth } : {}) });

describe('POST /api/v1/egress/check', () => {
  it.each([
    [{ url: 'http://public.test/' }, { allowed: true, reason: 'allowed', addresses: ['93.184.215.14'], rule: null, purpose: 'callback' }],
    [
      { url: 'http://lan.test/', purpose: 'callback' },
      { allowed: true, reason: 'allowed_by_exception', addresses: ['192.168.1.20'], rule: 'allowCidrs 192.168.1.0/24', purpose: 'callback' },
    ],
    [
      { url: 'http://lan.test/', purpose: 'fetch' },
      { allowed: false, reason: 'private', addresses: ['192.168.1.20'], rule: '192.168.0.0/16', purpose: 'fetch' },
    ],
    [
      { url: 'http://169.254.169.254/latest/meta-data/', purpose: 'callback' },
      { allowed: false, reason: 'metadata', addresses: ['169.254.169.254'], rule: 'metadata 169.254.169.254', purpose: 'callback' },
    ],
    [{ url: 'http://0x7f.1/' }, { allowed: false, reason: 'loopback', addresses: ['127.0.0.1'], rule: '127.0.0.0/8', purpose: 'callback' }],
    [
      { url: 'not a url', purpose: 'notify' },
      { allowed: false, reason: 'unparseable', addresses: [], rule: null, purpose: 'notify' },
    ],
    [
      { url: 'http://nowhere.test/', purpose: 'forward' },
      { allowed: false, reason: 'unresolvable', addresses: [], rule: null, purpose: 'forward' },
    ],
    [{ url: 'gopher://public.test/' }, { allowed: false, reason: 'scheme_not_allowed', addresses: [], rule: 'scheme gopher:', purpose: 'callback' }],
  ])('%j -> %j', async (body, expected) => {
    const r = await check(body);
    expect(r.status).toBe(200);
    expect(r.json).toEqual(expected);
  });

  it('sends nothing to the URL it checks', async () => {
    const r = await check({ url: `http://127.0.0.1:${evil.port}/`, purpose: 'callback' });
    expect(r.json).toMatchObject({ allowed: false, reason: 'loopback' });
    const allowed = await check({ url: `http://127.0.0.1:${evil.port}/`, purpose: 'forward' });
    expect(allowed.json).toMatchObject({ allowed: true, rule: 'allowCidrs 127.0.0.1/32' });
    expect(evil.connections()).toBe(0);
  });

  it.each([
    [{ url: 'http://public.test/', purpose: 'bogus' }],
    [{ purpose: 'fetch' }],
    [{ url: '' }],
    [{ url: 'http://public.test/', allowCidrs: ['0.0.0.0/0'] }],
    [{ url: 'x'.repeat(9000) }],
  ])('refuses a malformed body %# with 400 validation_failed (exceptions never come from a request)', async (body) => {
    const r = await check(body);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('validation_failed');
  });

  it('needs the admin scope', async () => {
    const created = await t.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'reader', scopes: ['read', 'tools'] } });
    const r = await check({ url: 'http://public.test/' }, created.json.token as string);
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('scope_required');
    expect((await check({ url: 'http://public.test/' }, 'x'.repeat(40))).status).toBe(401);
  });
});

describe('refusals of outbound requests are audited', () => {
  it('appear in GET /api/v1/audit with purpose, host, addresses, reason and rule, never the path, query or userinfo', async () => {
    const actor = { id: 'tok_1', name: 'agent-1' };
    await expect(
      t.gw.parts.egress.request({ url: `http://rebind.test:${evil.port}/hooks/cb?token=QUERYSECRET`, purpose: 'callback', actor, requestId: 'rq-audit-1' }),
    ).rejects.toMatchObject({
      code: 'egress_denied',
      status: 403,
      extra: { reason: 'loopback', purpose: 'callback' },
    });
    await expect(
      t.gw.parts.egress.request({ url: 'http://admin:PASSWORDSECRET@public.test/', purpose: 'notify', actor, requestId: 'rq-audit-2' }),
    ).rejects.toMatchObject({
      code: 'egress_denied',
      extra: { reason: 'userinfo_not_allowed' },
    });
    await expect(
      t.gw.parts.egress.request({ url: 'http://[fd00:ec2::254]/latest/api/token', purpose: 'callback', requestId: 'rq-audit-3' }),
    ).rejects.toMatchObject({
      extra: { reason: 'metadata' },
    });
    expect(evil.connections()).toBe(0);

    const { json } = await t.fetch('/api/v1/audit?limit=1000');
    const blocked = (json.entries as Array<Record<string, unknown>>).filter((e) => e['type'] === 'egress.blocked');
    expect(blocked).toEqual([
      expect.objectContaining({
        outcome: 'blocked',
        actor,
        requestId: 'rq-audit-1',
        detail: { purpose: 'callback', host: `rebind.test:${evil.port}`, addresses: ['127.0.0.1'], reason: 'loopback', rule: '127.0.0.0/8' },
      }),
      expect.objectContaining({
        requestId: 'rq-audit-2',
        detail: { purpose: 'notify', host: 'public.test', addresses: [], reason: 'userinfo_not_allowed', rule: 'userinfo' },
      }),
      expect.objectContaining({ requestId: 'rq-audit-3', detail: expect.objectContaining({ reason: 'metadata', host: '[fd00:ec2::254]' }) }),
    ]);
    const text = JSON.stringify(json) + t.logs.text;
    for (const secret of ['QUERYSECRET', 'PASSWORDSECRET', '/hooks/cb', 'admin:']) expect(text).not.toContain(secret);

    const warned = t.logs.entries().filter((l) => String(l['msg']).startsWith('egress refused'));
    expect(warned.map((l) => (l['egress'] as { reason: string }).reason)).toEqual(['loopback', 'userinfo_not_allowed', 'metadata']);
    expect(warned[0]).toMatchObject({
      level: 40,
      reqId: 'rq-audit-1',
      egress: { purpose: 'callback', host: `rebind.test:${evil.port}`, addresses: ['127.0.0.1'] },
    });

    const verify = await t.fetch('/api/v1/audit/verify');
    expect(verify.json.ok).toBe(true);
  });

  it('stays denied for metadata even under an exception that covers its range', async () => {
    await expect(t.gw.parts.egress.request({ url: 'http://169.254.169.254/latest/meta-data/', purpose: 'callback' })).rejects.toMatchObject({
      extra: { reason: 'metadata' },
    });
    expect(await t.gw.parts.egress.check('http://169.254.10.10/', 'callback')).toMatchObject({ allowed: true, rule: 'allowCidrs 169.254.0.0/16' });
  });
});

describe('a refusal as the client sees it', () => {
  it('is an RFC 9457 problem with code egress_denied, the reason and the purpose, and no address', async () => {
    const err = await t.gw.parts.egress.request({ url: 'http://lan.test/x?secret=1', purpose: 'fetch' }).catch((e: unknown) => e);
    const body = problemBody(err as Parameters<typeof problemBody>[0], 'rid-1');
    expect(body).toEqual({
      type: 'urn:moat:problem:egress_denied',
      title: 'Outbound request refused',
      status: 403,
      detail: 'outbound fetch request to lan.test refused: private',
      code: 'egress_denied',
      requestId: 'rid-1',
      reason: 'private',
      purpose: 'fetch',
    });
  });
});
