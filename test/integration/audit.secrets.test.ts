/**
 * No secret, body or query-string value reaches the audit log (invariants 5 and 6): a real gateway
 * is driven through every kind of request that carries one, then every audit file is searched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditText } from '../helpers/audit.js';
import { startGateway } from '../helpers/gateway.js';

describe('no secret, body or query-string value in the audit log', () => {
  it('keeps every token, pairing code, body value and query value out of every audit file', async () => {
    const g = await startGateway();
    const secrets: string[] = [g.token];
    const created = await g.fetch('/api/v1/tokens?secretq=QS-WRITE-5150', { method: 'POST', body: { name: 'holder', scopes: ['read'] } });
    expect(created.status).toBe(201);
    secrets.push(created.json.token, 'QS-WRITE-5150');
    // The created token used on a route it may not write to: audited with its id, not its secret.
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', auth: created.json.token, body: { name: 'n', scopes: ['read'] } })).status).toBe(403);
    const wrong = `moat_${'W'.repeat(20)}wrongtoken${'w'.repeat(13)}`;
    expect((await g.fetch('/api/v1/status', { auth: wrong })).status).toBe(401);
    secrets.push(wrong);
    // Bodies: a rejected extra field, a field of broken JSON, a pairing mint's body.
    expect((await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'b', scopes: ['read'], note: 'BODY-SECRET-7781' } })).status).toBe(400);
    expect(
      (await g.fetch('/api/v1/tokens', { method: 'POST', raw: '{"name":"BODY-SECRET-9902",', headers: { 'content-type': 'application/json' } })).status,
    ).toBe(400);
    secrets.push('BODY-SECRET-7781', 'BODY-SECRET-9902');
    // Query strings on a refused read, an unknown write and an unauthenticated write.
    expect((await g.fetch('/api/v1/audit?after=918273645&limit=7', { auth: false })).status).toBe(401);
    expect((await g.fetch('/api/v1/nope?secretq=QS-UNKNOWN-3141', { method: 'POST', body: {} })).status).toBe(404);
    expect((await g.fetch('/api/v1/tokens?secretq=QS-NOAUTH-2718', { method: 'POST', auth: false, body: {} })).status).toBe(401);
    secrets.push('918273645', 'QS-UNKNOWN-3141', 'QS-NOAUTH-2718');
    // Pairing: the right code and a wrong one.
    const minted = await g.fetch('/api/v1/pairing-codes', { method: 'POST', body: { scopes: ['read'] } });
    const paired = await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': minted.json.code } });
    expect(paired.status).toBe(201);
    const wrongCode = minted.json.code === '564738' ? '564739' : '564738';
    expect((await g.fetch('/api/v1/pair', { method: 'POST', auth: false, headers: { 'x-pairing-code': wrongCode } })).status).toBe(403);
    secrets.push(minted.json.code, wrongCode, paired.json.token);
    // And the admin token after rotation.
    expect((await g.fetch('/api/v1/tokens/rotate-admin', { method: 'POST' })).status).toBe(200);
    secrets.push(readFileSync(join(g.dataDir, 'gateway-token'), 'utf8').trim());
    await g.stop();

    const text = auditText(g.dataDir);
    // Not vacuous: every one of those requests left an entry.
    for (const type of ['token.created', 'authz.denied', 'auth.failure', 'http.write', 'pairing.redeemed', 'pairing.failure', 'token.rotated'])
      expect(text).toContain(`"${type}"`);
    for (const s of secrets) {
      // A standalone occurrence (a 6-digit code may appear by chance inside a hex hash; that is not a leak).
      const standalone = new RegExp(`(?<![0-9A-Za-z_-])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9A-Za-z_-])`);
      expect(standalone.test(text), `audit log contains ${s}`).toBe(false);
      expect(g.logs.text.includes(s), `log contains ${s}`).toBe(false);
    }
  });
});
