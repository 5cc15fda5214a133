/**
 * The `hooks` rate class at its edge (60 a minute per client by default): hook deliveries and
 * trigger calls share it, signed or not (a flood of forgeries is throttled before any HMAC is
 * computed), the 61st is 429 and does nothing, and other classes are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { audited, deliver, githubHeaders, taskIds } from '../helpers/hooks.js';

const SECRET = 'rate-class-secret-0123456';
let g: TestGateway;

beforeAll(async () => {
  g = await startGateway({
    hooks: [{ name: 'gh', verify: 'github', secret: SECRET, action: { type: 'task', title: 'push' } }],
    triggers: [{ path: 'ping', action: { type: 'task', title: 'ping' } }],
  });
});
afterAll(() => g?.stop());

describe('the hooks rate class', () => {
  it('allows exactly 60 a minute across deliveries and triggers; the 61st is 429 rate_limited and creates nothing', async () => {
    const body = JSON.stringify({ ref: 'r' });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await deliver(g, 'gh', body, githubHeaders(SECRET, body))).status);
    for (let i = 0; i < 20; i++)
      statuses.push((await deliver(g, 'gh', body, { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })).status);
    for (let i = 0; i < 20; i++) statuses.push((await g.fetch('/api/v1/triggers/ping', { method: 'POST', body: {} })).status);
    expect(statuses.filter((s) => s === 429)).toEqual([]);
    expect(statuses.filter((s) => s === 202)).toHaveLength(40);

    const before = await taskIds(g);
    const over = await deliver(g, 'gh', body, githubHeaders(SECRET, body));
    expect(over.status).toBe(429);
    expect(over.json.code).toBe('rate_limited');
    expect(over.headers['ratelimit-limit']).toBe('60');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await g.fetch('/api/v1/triggers/ping', { method: 'POST', body: {} })).status).toBe(429);
    expect(await taskIds(g)).toEqual(before);
    // Audited: the first refusal of this client at once, the second counted into its window (src/audit/refusals.ts).
    expect(await audited(g, 'ratelimit.refused')).toMatchObject([{ code: 'rate_limited', route: '/hooks/:name', client: '127.0.0.1' }]);
  });

  it('leaves the other classes alone', async () => {
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
  });
});
