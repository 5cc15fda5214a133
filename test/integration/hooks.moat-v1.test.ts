/**
 * inbound.acceptMoatV1, the compatibility knob for `moat` hooks fed by an older moat (one that signs
 * every callback `t=...,v1=...` with its install-wide secret): off by default (hooks.schemes and the
 * attack tests); turned on, it is said at boot (a warning in the log and the boot record), a v1
 * delivery with the right secret is taken and audited with `signature: v1`, and nothing else is
 * loosened: a wrong or stale v1, or a wrong v2 beside a right v1, is still 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, deliver, hmacHex, taskIds } from '../helpers/hooks.js';

const OLD = 'old-moat-install-secret-0123456789abcdef';
const nowS = () => Math.floor(Date.now() / 1000);
const sign = (v: 'v1' | 'v2', body: string, secret = OLD, t = nowS()) => ({
  'content-type': 'application/json',
  'moat-signature': `t=${t},${v}=${hmacHex(secret, `${t}.`, body)}`,
});
let g: TestGateway;

beforeAll(async () => {
  g = await startGateway({
    rateLimit: { enabled: false },
    inbound: { acceptMoatV1: true },
    hooks: [{ name: 'old', verify: 'moat', secret: OLD, action: { type: 'task', title: 'old {body.job.id}' } }],
  });
});
afterAll(() => g?.stop());

describe('inbound.acceptMoatV1 on', () => {
  it('is a warning at boot, in the log and in the boot record', async () => {
    expect(g.logs.text).toContain('inbound.acceptMoatV1 is on');
    const boot = (await audited(g, 'gateway.boot')).at(-1);
    expect(boot?.detail.warnings).toEqual(expect.arrayContaining([expect.stringContaining('inbound.acceptMoatV1 is on')]));
  });

  it('takes a v1 delivery signed with the hook secret, audited with signature v1', async () => {
    const b = JSON.stringify({ type: 'job.finished', job: { id: 'job_old1', state: 'succeeded' } });
    const res = await deliver(g, 'old', b, sign('v1', b));
    expect(res.status, res.text).toBe(202);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.detail.task === res.json.task);
    expect(entry).toMatchObject({ outcome: 'ok', detail: { hook: 'old', scheme: 'moat', signature: 'v1', deliveryId: 'job_old1' } });
  });

  it('takes v2 as ever, without the v1 mark', async () => {
    const b = JSON.stringify({ type: 'job.finished', job: { id: 'job_new1', state: 'succeeded' } });
    const res = await deliver(g, 'old', b, sign('v2', b));
    expect(res.status, res.text).toBe(202);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.detail.task === res.json.task);
    expect(entry?.detail.signature).toBeUndefined();
  });

  const rows: Array<[string, (b: string) => Record<string, string>, string]> = [
    ['a v1 with another secret', (b) => sign('v1', b, 'another-secret-of-twenty'), 'mismatch'],
    ['a stale v1', (b) => sign('v1', b, OLD, nowS() - 400), 'stale'],
    [
      'a right v1 beside a wrong v2',
      (b) => ({ 'content-type': 'application/json', 'moat-signature': `${sign('v1', b)['moat-signature']},v2=${'0'.repeat(64)}` }),
      'mismatch',
    ],
  ];
  it.each(rows)('%s: still 401', async (label, headers, reason) => {
    const b = JSON.stringify({ type: 'job.finished', job: { id: `job_${label.length}`, state: 'succeeded' } });
    const before = await taskIds(g);
    const res = await deliver(g, 'old', b, headers(b));
    expect(res.status).toBe(401);
    expect(await taskIds(g)).toEqual(before);
    const entry = (await audited(g, 'hook.delivery')).find((e) => e.requestId === res.json.requestId);
    expect(entry).toMatchObject({ outcome: 'denied', detail: { hook: 'old', reason } });
  });
});
