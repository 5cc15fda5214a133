/**
 * Attack on hook signatures over HTTP/2 (TLS gateway): a signature header field sent twice (the
 * valid value twice, or a forged one beside the valid one, in either order) is refused with 401
 * and creates nothing; the genuine delivery goes through and its redelivery is a duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h2Connect, h2Request, type H2Connection } from '../helpers/attack.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { hmacHex, taskIds } from '../helpers/hooks.js';

const S = 'h2-hook-secret-0123456789abc';
let g: TestGateway;
let h2: H2Connection;

beforeAll(async () => {
  g = await startGateway({
    tls: { enabled: true },
    rateLimit: { enabled: false },
    hooks: [{ name: 'gh', verify: 'github', secret: S, action: { type: 'task', title: 'gh {body.ref}' } }],
  });
  h2 = await h2Connect(g);
});
afterAll(async () => {
  h2?.session.close();
  await g?.stop();
});

const body = JSON.stringify({ ref: 'refs/heads/h2' });
const sig = `sha256=${hmacHex(S, body)}`;
const post = (headers: Record<string, string | string[]>) =>
  h2Request(h2.session, { ':method': 'POST', ':path': '/hooks/gh', 'content-type': 'application/json', ...headers }, body);

describe('signature headers over HTTP/2', () => {
  it.each([
    ['the valid signature twice', { 'x-hub-signature-256': [sig, sig] }],
    ['a forged signature beside the valid one', { 'x-hub-signature-256': [`sha256=${'0'.repeat(64)}`, sig] }],
    ['the valid one beside a forged one', { 'x-hub-signature-256': [sig, `sha256=${'f'.repeat(64)}`] }],
  ])('%s: 401 signature_invalid, nothing created', async (_label, headers) => {
    const before = await taskIds(g);
    const res = await post(headers);
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('signature_invalid');
    expect(await taskIds(g)).toEqual(before);
  });

  it('the genuine delivery is accepted, and its redelivery is a duplicate', async () => {
    const first = await post({ 'x-hub-signature-256': sig, 'x-github-delivery': 'h2-d1' });
    expect(first.status).toBe(202);
    const again = await post({ 'x-hub-signature-256': sig, 'x-github-delivery': 'h2-d1' });
    expect(again.status).toBe(200);
    expect(again.json.duplicate).toBe(true);
  });
});
