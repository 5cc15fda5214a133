/**
 * The address policy as an attacker's table: every special-purpose range at and around its
 * boundaries, every IPv6 form that embeds IPv4, cloud metadata that no exception opens.
 */
import { describe, expect, it } from 'vitest';
import { classifyAddress, compileCidrs, parseAddress, type AddressPolicy } from '../../src/egress/address-policy.js';
import { IPV4_TABLE, ipv6Forms } from '../helpers/egress-tables.js';

const DEFAULT: AddressPolicy = { allowCidrs: [], allowFakeIp: false };

function verdict(address: string, policy: AddressPolicy = DEFAULT) {
  const a = parseAddress(address);
  if (!a) throw new Error(`test address ${address} does not parse`);
  return classifyAddress(a, policy);
}

/** Native IPv6 addresses and what they are. */
const IPV6_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['0000:0000:0000:0000:0000:0000:0000:0001', 'loopback'],
  ['::2', 'unspecified'], // IPv4-compatible ::0.0.0.2
  ['1::1', 'not_global_unicast'],
  ['64:ff9b:1::1', 'reserved'],
  ['100::1', 'reserved'],
  ['2001:2::1', 'benchmarking'],
  ['2001:3::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['2001:20::1', 'reserved'],
  ['2001:db8::1', 'documentation'],
  ['2001:DB8:ffff::1', 'documentation'],
  ['2001:4860:4860::8888', 'allowed'],
  ['2400:cb00::1', 'allowed'],
  ['2606:4700:4700::1111', 'allowed'],
  ['2a00:1450:4001::1', 'allowed'],
  ['3ffe::1', 'allowed'],
  ['3fff::1', 'documentation'],
  ['3fff:fff::1', 'documentation'],
  ['4000::1', 'not_global_unicast'],
  ['5f00::1', 'not_global_unicast'],
  ['e000::1', 'not_global_unicast'],
  ['fc00::1', 'unique_local'],
  ['fd00::1', 'unique_local'],
  ['fd12:3456:789a::1', 'unique_local'],
  ['fd00:ec2::254', 'metadata'],
  ['FD00:EC2:0:0:0:0:0:254', 'metadata'],
  ['fd00:ec2::23', 'metadata'],
  ['fd00:ec2::253', 'unique_local'],
  ['fe80::', 'link_local'],
  ['fe80::1', 'link_local'],
  ['fe80::1%eth0', 'link_local'],
  ['febf:ffff::1', 'link_local'],
  ['fec0::1', 'site_local'],
  ['ff00::1', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
];

describe('IPv4 special-purpose ranges, at and around their boundaries', () => {
  it.each(IPV4_TABLE)('%s is %s', (address, reason) => {
    const v = verdict(address);
    expect(v.reason).toBe(reason);
    expect(v.allowed).toBe(reason === 'allowed');
  });
});

describe('IPv6 special-purpose ranges', () => {
  it.each(IPV6_TABLE)('%s is %s', (address, reason) => {
    const v = verdict(address);
    expect(v.reason).toBe(reason);
    expect(v.allowed).toBe(reason === 'allowed');
  });
});

describe('IPv6 forms that embed an IPv4 address are judged by the IPv4 they reach', () => {
  const cases = IPV4_TABLE.flatMap(([ip, reason]) => ipv6Forms(ip, reason).map(([form, v6, expected]) => [`${form} ${v6} (${ip})`, v6, expected] as const));
  it.each(cases)('%s is %s', (_name, address, reason) => {
    const v = verdict(address);
    expect(v.reason).toBe(reason);
    expect(v.allowed).toBe(reason === 'allowed');
  });

  it('names the embedding in the rule', () => {
    expect(verdict('2002:7f00:1::').rule).toBe('2002::/16 (6to4) embeds 127.0.0.1 in 127.0.0.0/8');
    expect(verdict('64:ff9b::a9fe:a9fe').rule).toContain('169.254.169.254');
  });
});

describe('operator exceptions (allowCidrs)', () => {
  const policy = (cidrs: string[], allowFakeIp = false): AddressPolicy => ({ allowCidrs: compileCidrs(cidrs, 'test'), allowFakeIp });

  it('open a denied range for the addresses they cover, and only those', () => {
    const p = policy(['10.1.0.0/16', '127.0.0.1', 'fd12::/16']);
    expect(verdict('10.1.2.3', p)).toEqual({ allowed: true, reason: 'allowed_by_exception', rule: 'allowCidrs 10.1.0.0/16' });
    expect(verdict('10.2.0.1', p).reason).toBe('private');
    expect(verdict('127.0.0.1', p).allowed).toBe(true);
    expect(verdict('::ffff:127.0.0.1', p).allowed).toBe(true);
    expect(verdict('127.0.0.2', p).reason).toBe('loopback');
    expect(verdict('fd12:3456::1', p).allowed).toBe(true);
    expect(verdict('fd13::1', p).reason).toBe('unique_local');
  });

  it('take an IPv4-mapped CIDR as the IPv4 range it means', () => {
    expect(verdict('10.0.0.5', policy(['::ffff:10.0.0.0/104'])).allowed).toBe(true);
  });

  it.each([
    ['169.254.0.0/16', '169.254.169.254'],
    ['169.254.0.0/16', '169.254.170.2'],
    ['169.254.0.0/16', '::ffff:169.254.169.254'],
    ['0.0.0.0/0', '169.254.169.254'],
    ['100.64.0.0/10', '100.100.100.200'],
    ['fd00::/8', 'fd00:ec2::254'],
    ['::/0', 'fd00:ec2::254'],
    ['64:ff9b::/96', '64:ff9b::a9fe:a9fe'],
    ['2002::/16', '2002:a9fe:a9fe::'],
    ['192.0.0.0/24', '192.0.0.192'],
    ['168.63.0.0/16', '168.63.129.16'],
  ])('never open cloud metadata: %s still denies %s', (cidr, address) => {
    const v = verdict(address, policy([cidr]));
    expect(v).toMatchObject({ allowed: false, reason: 'metadata' });
  });

  it.each([
    ['0.0.0.0/0', '0.0.0.0'],
    ['0.0.0.0/8', '0.1.2.3'],
    ['::/0', '::'],
    ['0.0.0.0/0', '::ffff:0.0.0.0'],
  ])('never open the unspecified address (it reaches the host itself): %s still denies %s', (cidr, address) => {
    expect(verdict(address, policy([cidr])).reason).toBe('unspecified');
  });

  it('do not open an IPv4 range through an IPv6 form that embeds it', () => {
    expect(verdict('64:ff9b::a00:1', policy(['10.0.0.0/8'])).reason).toBe('private');
  });

  it('open 198.18.0.0/15 only with allowFakeIp', () => {
    expect(verdict('198.18.5.5').reason).toBe('benchmarking');
    expect(verdict('198.18.5.5', policy([], true))).toEqual({ allowed: true, reason: 'allowed_by_exception', rule: 'allowFakeIp 198.18.0.0/15' });
    expect(verdict('198.20.0.1', policy([], true)).reason).toBe('allowed');
    expect(verdict('10.0.0.1', policy([], true)).reason).toBe('private');
  });

  it.each(['10.0.0.0/33', '10.0.0', 'example.com', '0x7f.0.0.1', '::1/129', '', '10.0.0.0/8/8'])('refuse %j at construction with config_invalid', (entry) => {
    expect(() => compileCidrs([entry], 'egress.purposes.callback.allowCidrs')).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('egress.purposes.callback.allowCidrs') }),
    );
  });
});
