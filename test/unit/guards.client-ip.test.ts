/**
 * The client address alone, on the raw message it reads (socket peer, X-Forwarded-For): forged
 * forwarding headers from untrusted peers and forged leftmost entries from trusted ones.
 */
import { describe, expect, it } from 'vitest';
import { clientIp, type AddressedRequest } from '../../src/security/client-ip.js';
import { outcome } from '../helpers/refusal.js';

const req = (peer: string | undefined, xff?: string | string[]): AddressedRequest => ({
  headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  socket: peer === undefined ? undefined : { remoteAddress: peer },
});

describe('client address with no trusted proxy (the default)', () => {
  const ip = clientIp({ trustedProxies: [] });
  it.each([
    ['203.0.113.9', undefined, '203.0.113.9'],
    ['::ffff:203.0.113.9', undefined, '203.0.113.9'],
    ['2001:db8::1', undefined, '2001:db8::1'],
    ['203.0.113.9', '127.0.0.1', '203.0.113.9'],
    ['127.0.0.1', '10.1.2.3', '127.0.0.1'],
    [undefined, '10.1.2.3', ''],
  ])('peer %s with X-Forwarded-For %j is %s', (peer, xff, expected) => expect(ip(req(peer, xff))).toBe(expected));
});

describe('client address behind trusted proxies', () => {
  const ip = clientIp({ trustedProxies: ['10.0.0.0/8', '::ffff:192.168.7.1', '2001:db8:1::/48'] });
  it.each([
    ['a trusted peer without the header', '10.0.0.5', undefined, '10.0.0.5'],
    ['a trusted peer, one hop', '10.0.0.5', '203.0.113.9', '203.0.113.9'],
    ['a forged leftmost entry', '10.0.0.5', '127.0.0.1, 203.0.113.9', '203.0.113.9'],
    ['trusted hops on the right are skipped', '10.0.0.5', '203.0.113.9, 10.2.3.4', '203.0.113.9'],
    ['several header lines', '10.0.0.5', ['1.1.1.1', '203.0.113.9'], '203.0.113.9'],
    ['a garbage entry left of the client', '10.0.0.5', 'garbage, 203.0.113.9', '203.0.113.9'],
    ['a garbage entry right of the client: nothing left of it is believed', '10.0.0.5', '203.0.113.9, garbage', '10.0.0.5'],
    ['an inet_aton spelling is not an address', '10.0.0.5', '0x7f.1', '10.0.0.5'],
    ['a port is not an address', '10.0.0.5', '203.0.113.9:4444', '10.0.0.5'],
    ['a mapped trusted peer', '::ffff:10.0.0.5', '203.0.113.9', '203.0.113.9'],
    ['a trusted single address written mapped', '192.168.7.1', '198.51.100.7', '198.51.100.7'],
    ['an IPv6 client behind an IPv6 proxy', '2001:db8:1::5', '2001:db8:9::9', '2001:db8:9::9'],
    ['an untrusted peer forging the header', '198.51.100.1', '203.0.113.9', '198.51.100.1'],
    ['every hop trusted: the leftmost', '10.0.0.5', '10.9.9.9, 10.2.3.4', '10.9.9.9'],
  ] as const)('%s', (_what, peer, xff, expected) => expect(ip(req(peer, xff as string | string[] | undefined))).toBe(expected));
});

describe('client address options', () => {
  it.each([['not-an-ip'], ['10.0.0.0/33'], ['127.1'], ['0x7f.0.0.1'], ['']])('refuses trustedProxies %j at boot with config_invalid', (entry) =>
    expect(outcome(() => clientIp({ trustedProxies: [entry] }))).toBe('config_invalid'),
  );
  it('starts believing a proxy on reconfigure', () => {
    const ip = clientIp({ trustedProxies: [] });
    expect(ip(req('10.0.0.5', '203.0.113.9'))).toBe('10.0.0.5');
    ip.reconfigure({ trustedProxies: ['10.0.0.5'] });
    expect(ip(req('10.0.0.5', '203.0.113.9'))).toBe('203.0.113.9');
  });
});
