/**
 * Moat-Signature v2's receiver binding, from the attacker's side: which spellings of a callback URL
 * are one receiver (only those the request goes to unchanged) and which are another (anything that
 * could send the POST elsewhere: another scheme, host, port or path, or a path spelled otherwise),
 * and that the key, the signature and the published derivation agree.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackReceiver, callbackSignature, receiverFacts, receiverKey } from '../../src/crypto/callback-signing.js';

const INSTALL = 'install-secret-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const HOOK = 'https://moat2.example.com/hooks/from-moat1';

describe('callbackReceiver: one receiver per place a POST goes to', () => {
  it.each([
    ['the URL itself', HOOK],
    ['scheme and host in capitals', 'HTTPS://MOAT2.Example.COM/hooks/from-moat1'],
    ['the default port written out', 'https://moat2.example.com:443/hooks/from-moat1'],
    ['a query (not part of the receiver)', `${HOOK}?attempt=2`],
    ['a fragment (never sent)', `${HOOK}#x`],
    ['a dot segment (resolved before sending)', 'https://moat2.example.com/hooks/x/../from-moat1'],
  ])('%s is the same receiver', (_label, url) => {
    expect(callbackReceiver(url)).toBe(HOOK);
  });

  it.each([
    ['http instead of https', 'http://moat2.example.com/hooks/from-moat1'],
    ['another port', 'https://moat2.example.com:8443/hooks/from-moat1'],
    ['another host', 'https://moat3.example.com/hooks/from-moat1'],
    ['a subdomain', 'https://evil.moat2.example.com/hooks/from-moat1'],
    ['a trailing dot on the host', 'https://moat2.example.com./hooks/from-moat1'],
    ['another hook', 'https://moat2.example.com/hooks/other'],
    ['a trailing slash', `${HOOK}/`],
    ['a path below it', `${HOOK}/x`],
    ['the path in capitals', 'https://moat2.example.com/HOOKS/FROM-MOAT1'],
    ['a percent-encoded letter', 'https://moat2.example.com/hooks/%66rom-moat1'],
    ['an encoded slash', 'https://moat2.example.com/hooks%2Ffrom-moat1'],
    ['the origin only', 'https://moat2.example.com/'],
  ])('%s is another receiver, with another key', (_label, url) => {
    const receiver = callbackReceiver(url);
    expect(receiver).toBeDefined();
    expect(receiver).not.toBe(HOOK);
    expect(receiverKey(INSTALL, receiver as string)).not.toBe(receiverKey(INSTALL, HOOK));
  });

  it.each([
    ['not a URL', 'moat2.example.com/hooks/x'],
    ['a relative path', '/hooks/from-moat1'],
    ['ftp', 'ftp://moat2.example.com/x'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:text/plain,x'],
    ['credentials', 'https://user:pass@moat2.example.com/hooks/from-moat1'],
    ['a user name alone', 'https://user@moat2.example.com/hooks/from-moat1'],
    ['no host', 'http://'],
    ['empty', ''],
  ])('%s is no receiver', (_label, url) => {
    expect(callbackReceiver(url)).toBeUndefined();
  });
});

describe('receiverKey and callbackSignature', () => {
  it('the key is base64url(HMAC-SHA256(install secret, "moat callback receiver v2\\n" + receiver)), as docs/jobs.md says', () => {
    const expected = createHmac('sha256', INSTALL).update(`moat callback receiver v2\n${HOOK}`).digest('base64url');
    expect(receiverKey(INSTALL, HOOK)).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('the signature is t=<t>,v2=<hex HMAC-SHA256(receiver key, "<t>.<raw body>")> of the URL the POST goes to', () => {
    const body = '{"type":"job.finished","job":{"id":"job_1"}}';
    const v2 = createHmac('sha256', receiverKey(INSTALL, HOOK)).update(`1700000000.${body}`).digest('hex');
    expect(callbackSignature(INSTALL, `${HOOK}?attempt=1`, body, 1_700_000_000)).toBe(`t=1700000000,v2=${v2}`);
    expect(callbackSignature(INSTALL, `${HOOK}/`, body, 1_700_000_000)).not.toBe(`t=1700000000,v2=${v2}`);
    expect(callbackSignature(`${INSTALL}x`, HOOK, body, 1_700_000_000)).not.toBe(`t=1700000000,v2=${v2}`);
  });

  it('the audit facts name the origin and a digest, never the path', () => {
    const facts = receiverFacts('https://hooks.example.com/services/T000/B000/XXXXSECRETPATH');
    expect(facts.origin).toBe('https://hooks.example.com');
    expect(facts.receiverSha256).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(facts)).not.toContain('SECRETPATH');
  });
});
