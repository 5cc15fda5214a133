/**
 * URL-level refusals and names, through Egress.check() with an injected resolver: schemes,
 * userinfo, ports, host allow/deny lists, metadata names, unparseable input, what a resolver
 * answers (mixed answers, junk, nothing), case, IDN and trailing dots.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeEgress, tableResolver } from '../helpers/egress.js';

const PUBLIC = '93.184.215.14';
const resolver = tableResolver({
  'public.test': [PUBLIC],
  'dual.test': [PUBLIC, '2606:4700:4700::1111'],
  'a.example.com': [PUBLIC],
  'a.b.example.com': [PUBLIC],
  'example.com': [PUBLIC],
  'evil.example.com': [PUBLIC],
  'api.partner.test': [PUBLIC],
  'xn--exmple-cua.test': [PUBLIC], // exämple.test
  localhost: ['127.0.0.1', '::1'],
  'loopback.test': ['127.0.0.1'],
  '127.0.0.1.nip.test': ['127.0.0.1'],
  'lan.test': ['192.168.1.20'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'compat.test': ['::127.0.0.1'],
  'mixed.test': [PUBLIC, '10.0.0.1'],
  'mixed-v6.test': [PUBLIC, 'fe80::1%eth0'],
  'metadata.test': ['169.254.169.254'],
  'junk.test': ['0x7f.1'],
  'empty.test': [],
});

const plain = makeEgress({}, resolver);
const lists = makeEgress(
  {
    purposes: {
      callback: { allowHosts: ['*.example.com', 'api.partner.test', 'exämple.test', '8.8.8.8'], denyHosts: ['evil.example.com'] },
      notify: { ports: [443, 8443] },
      forward: { allowCidrs: ['192.168.1.0/24'] },
    },
  },
  resolver,
);
afterAll(() => Promise.all([plain.egress.stop(), lists.egress.stop()]));

describe('only http and https pass', () => {
  it.each([
    'ftp://public.test/',
    'file:///etc/passwd',
    'file://public.test/etc/passwd',
    'gopher://public.test:70/_GET%20/',
    'dict://public.test:11211/stat',
    'ldap://public.test/',
    'sftp://public.test/',
    'ws://public.test/',
    'wss://public.test/',
    'data:text/plain,hello',
    'javascript:alert(1)',
    'blob:http://public.test/x',
    'jar:http://public.test/x.jar!/',
    'netdoc:///etc/passwd',
    'mailto:a@public.test',
  ])('%s is refused as scheme_not_allowed', async (url) => {
    expect(await plain.egress.check(url, 'fetch')).toMatchObject({ allowed: false, reason: 'scheme_not_allowed', addresses: [] });
  });
  it.each(['http://public.test/', 'https://public.test/', 'HTTPS://PUBLIC.TEST/', 'hTtP://public.test/a?b=c#d'])('%s passes', async (url) => {
    expect(await plain.egress.check(url, 'fetch')).toEqual({ allowed: true, reason: 'allowed', addresses: [PUBLIC], rule: null });
  });
});

describe('userinfo is refused', () => {
  it.each([
    'http://user:pass@public.test/',
    'http://user@public.test/',
    'http://:pass@public.test/',
    'http://public.test@127.0.0.1/',
    'http://public.test:80@127.0.0.1/',
    'https://public.test%40evil.test@127.0.0.1/',
    'http://user:pass@127.0.0.1/',
  ])('%s', async (url) => {
    expect(await plain.egress.check(url, 'fetch')).toMatchObject({ allowed: false, reason: 'userinfo_not_allowed' });
  });
});

describe('what cannot be parsed is refused, never guessed at', () => {
  it.each([
    '',
    'not a url',
    'public.test',
    '//public.test/',
    '/relative/path',
    'http://',
    'http://[::1',
    'http://[::1]x/',
    'http://256.0.0.1/',
    'http://1.2.3.4.5/',
    'http://0x100000000/',
    'http://4294967296/',
    'http://[fe80::1%25eth0]/',
    'http://[::1%251]/',
    'http://exa mple.test/',
    'http://public.test:99999/',
    'http://public.test:-1/',
    'http://127.0.0.1%00.public.test/',
    'http://a..b/',
    'http://.public.test/',
  ])('%j', async (url) => {
    expect(await plain.egress.check(url, 'fetch')).toMatchObject({ allowed: false, reason: 'unparseable', addresses: [] });
  });
});

describe('names are resolved once and every answer is checked', () => {
  it.each([
    ['http://public.test/', true, 'allowed', [PUBLIC]],
    ['http://PUBLIC.Test/', true, 'allowed', [PUBLIC]],
    ['http://public.test./', true, 'allowed', [PUBLIC]],
    ['http://dual.test/', true, 'allowed', [PUBLIC, '2606:4700:4700::1111']],
    ['http://exämple.test/', true, 'allowed', [PUBLIC]],
    ['http://EXÄMPLE.test/', true, 'allowed', [PUBLIC]],
    ['http://localhost/', false, 'loopback', ['127.0.0.1', '::1']],
    ['http://LOCALHOST./', false, 'loopback', ['127.0.0.1', '::1']],
    ['http://ⓛocalhost/', false, 'loopback', ['127.0.0.1', '::1']],
    ['http://loopback.test:8080/x', false, 'loopback', ['127.0.0.1']],
    ['http://127.0.0.1.nip.test/', false, 'loopback', ['127.0.0.1']],
    ['http://lan.test/', false, 'private', ['192.168.1.20']],
    ['http://mapped.test/', false, 'loopback', ['::ffff:127.0.0.1']],
    ['http://compat.test/', false, 'loopback', ['::127.0.0.1']],
    ['http://metadata.test/', false, 'metadata', ['169.254.169.254']],
    ['http://mixed.test/', false, 'private', [PUBLIC, '10.0.0.1']],
    ['http://mixed-v6.test/', false, 'link_local', [PUBLIC, 'fe80::1%eth0']],
  ] as const)('%s: allowed %s (%s)', async (url, allowed, reason, addresses) => {
    expect(await plain.egress.check(url, 'fetch')).toMatchObject({ allowed, reason, addresses });
  });

  it('fails closed when the name does not resolve, resolves to nothing, or to junk', async () => {
    expect(await plain.egress.check('http://nowhere.test/', 'fetch')).toEqual({ allowed: false, reason: 'unresolvable', addresses: [], rule: null });
    expect(await plain.egress.check('http://empty.test/', 'fetch')).toMatchObject({ allowed: false, reason: 'unresolvable' });
    expect(await plain.egress.check('http://junk.test/', 'fetch')).toMatchObject({ allowed: false, reason: 'unresolvable', addresses: ['0x7f.1'] });
  });

  it('fails closed when the resolver hangs longer than the purpose may take', async () => {
    const hanging = makeEgress({ purposes: { fetch: { timeoutMs: 100 } } }, () => new Promise(() => undefined));
    expect(await hanging.egress.check('http://slow.test/', 'fetch')).toMatchObject({ allowed: false, reason: 'unresolvable' });
    await hanging.egress.stop();
  });
});

describe('cloud metadata names are denied without being resolved', () => {
  it.each([
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://METADATA.GOOGLE.INTERNAL./',
    'http://metadata.goog/',
    'http://metadata/',
    'http://instance-data/latest/meta-data/',
    'http://instance-data.ec2.internal/',
    'http://metadata.tencentyun.com/',
  ])('%s', async (url) => {
    const before = resolver.calls.length;
    expect(await plain.egress.check(url, 'fetch')).toMatchObject({ allowed: false, reason: 'metadata' });
    expect(resolver.calls.length).toBe(before);
  });
});

describe('host lists and ports of a purpose', () => {
  it.each([
    ['http://a.example.com/', 'callback', true, 'allowed', null],
    ['http://a.b.example.com/', 'callback', true, 'allowed', null],
    ['http://A.EXAMPLE.COM./', 'callback', true, 'allowed', null],
    ['http://api.partner.test/', 'callback', true, 'allowed', null],
    ['http://xn--exmple-cua.test/', 'callback', true, 'allowed', null],
    ['http://8.8.8.8/', 'callback', true, 'allowed', null],
    ['http://0x08080808/', 'callback', true, 'allowed', null],
    ['http://example.com/', 'callback', false, 'host_not_allowed', 'allowHosts'],
    ['http://xexample.com/', 'callback', false, 'host_not_allowed', 'allowHosts'],
    ['http://example.com.evil.test/', 'callback', false, 'host_not_allowed', 'allowHosts'],
    ['http://public.test/', 'callback', false, 'host_not_allowed', 'allowHosts'],
    ['http://8.8.4.4/', 'callback', false, 'host_not_allowed', 'allowHosts'],
    ['http://evil.example.com/', 'callback', false, 'host_denied', 'denyHosts evil.example.com'],
    ['http://EVIL.example.com./', 'callback', false, 'host_denied', 'denyHosts evil.example.com'],
    ['http://evil.example.com../', 'callback', false, 'host_denied', 'denyHosts evil.example.com'],
    ['http://public.test/', 'notify', false, 'port_not_allowed', 'ports 443,8443'],
    ['http://public.test:8080/', 'notify', false, 'port_not_allowed', 'ports 443,8443'],
    ['https://public.test/', 'notify', true, 'allowed', null],
    ['https://public.test:8443/', 'notify', true, 'allowed', null],
    ['http://public.test:443/', 'notify', true, 'allowed', null],
    ['http://public.test:0/', 'fetch', false, 'port_not_allowed', 'port 0'],
    ['http://lan.test/', 'forward', true, 'allowed_by_exception', 'allowCidrs 192.168.1.0/24'],
    ['http://192.168.1.99/', 'forward', true, 'allowed_by_exception', 'allowCidrs 192.168.1.0/24'],
    ['http://192.168.2.1/', 'forward', false, 'private', '192.168.0.0/16'],
    ['http://lan.test/', 'fetch', false, 'private', '192.168.0.0/16'],
  ] as const)('%s for %s: allowed %s (%s, rule %s)', async (url, purpose, allowed, reason, rule) => {
    expect(await lists.egress.check(url, purpose)).toMatchObject({ allowed, reason, rule });
  });

  it('an allowlisted name still has its addresses checked', async () => {
    const e = makeEgress({ purposes: { callback: { allowHosts: ['loopback.test'] } } }, resolver);
    expect(await e.egress.check('http://loopback.test/', 'callback')).toMatchObject({ allowed: false, reason: 'loopback' });
    await e.egress.stop();
  });

  it('a metadata name stays denied even when allowlisted', async () => {
    const e = makeEgress({ purposes: { callback: { allowHosts: ['metadata.google.internal'], allowCidrs: ['169.254.0.0/16'] } } }, resolver);
    expect(await e.egress.check('http://metadata.google.internal/', 'callback')).toMatchObject({ allowed: false, reason: 'metadata' });
    await e.egress.stop();
  });

  it('an unknown purpose is a programming error (bad_request), not an open door', async () => {
    await expect(plain.egress.check('http://public.test/', 'bogus' as never)).rejects.toMatchObject({ code: 'bad_request' });
  });
});
