/**
 * The special-purpose address tables the egress guard denies by default (RFC 6890 and its
 * successors), the cloud metadata endpoints it always denies, and where IPv6 embeds IPv4. Data only.
 */
import ipaddr from 'ipaddr.js';
import type { AddressReason } from './types.js';

export type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface Range {
  cidr: string;
  net: Addr;
  bits: number;
}

export interface SpecialRange extends Range {
  reason: AddressReason;
}

function range(cidr: string): Range {
  const [net, bits] = ipaddr.parseCIDR(cidr);
  return { cidr, net, bits };
}

const special = (cidr: string, reason: AddressReason): SpecialRange => ({ ...range(cidr), reason });

/** IPv4 ranges that are not the public internet. First match wins (broadcast before 240/4). */
export const IPV4_DENIED: readonly SpecialRange[] = [
  // 0.0.0.0/8 "this network": a connect to 0.0.0.0 reaches the host itself on Linux and macOS.
  special('0.0.0.0/8', 'unspecified'),
  special('10.0.0.0/8', 'private'),
  special('100.64.0.0/10', 'carrier_grade_nat'),
  special('127.0.0.0/8', 'loopback'),
  special('169.254.0.0/16', 'link_local'),
  special('172.16.0.0/12', 'private'),
  special('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  special('192.0.2.0/24', 'documentation'), // TEST-NET-1
  special('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast (RFC 7526)
  special('192.168.0.0/16', 'private'),
  special('198.18.0.0/15', 'benchmarking'), // RFC 2544; also what fake-IP proxies answer (egress.allowFakeIp)
  special('198.51.100.0/24', 'documentation'), // TEST-NET-2
  special('203.0.113.0/24', 'documentation'), // TEST-NET-3
  special('224.0.0.0/4', 'multicast'),
  special('255.255.255.255/32', 'broadcast'),
  special('240.0.0.0/4', 'reserved'),
];

export const FAKE_IP = IPV4_DENIED.find((r) => r.reason === 'benchmarking') as SpecialRange;

/**
 * IPv6 ranges that are not the public internet, checked after the embedded-IPv4 forms (IPv4-mapped,
 * IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo), which are judged by the IPv4 they carry.
 * Anything left outside 2000::/3 (global unicast) is denied as well.
 */
export const IPV6_DENIED: readonly SpecialRange[] = [
  special('::/128', 'unspecified'),
  special('::1/128', 'loopback'),
  special('64:ff9b:1::/48', 'reserved'), // local-use NAT64 (RFC 8215): translates into the local network
  special('100::/64', 'reserved'), // discard-only (RFC 6666)
  special('2001:db8::/32', 'documentation'),
  special('2001:2::/48', 'benchmarking'),
  special('2001::/23', 'reserved'), // IETF protocol assignments (ORCHID, AMT, AS112, ...)
  special('3fff::/20', 'documentation'), // RFC 9637
  special('fc00::/7', 'unique_local'),
  special('fe80::/10', 'link_local'),
  special('fec0::/10', 'site_local'), // deprecated, still routed inside some networks
  special('ff00::/8', 'multicast'),
];

export const GLOBAL_UNICAST = range('2000::/3');

/**
 * Cloud metadata endpoints (instance credentials live there): denied even when an operator
 * exception covers their range, in every spelling and every IPv6 embedding.
 */
export const METADATA_ADDRESSES: ReadonlySet<string> = new Set([
  '169.254.169.254', // AWS, GCP, Azure, Oracle, DigitalOcean, Hetzner, OpenStack
  '169.254.170.2', // AWS ECS task credentials
  '169.254.170.23', // AWS EKS Pod Identity
  '169.254.0.23', // Tencent Cloud
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud (legacy)
  '168.63.129.16', // Azure WireServer (a public address that serves platform secrets)
  'fd00:ec2::254', // AWS IMDS over IPv6
  'fd00:ec2::23', // AWS EKS Pod Identity over IPv6
]);

/** Names that reach a metadata service through the cloud's own resolver. */
export const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'metadata.tencentyun.com',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** An IPv6 form that carries an IPv4 address: traffic to it reaches (or is relayed to) that IPv4. */
export interface Embedding {
  /** The prefix and its name, for the rule: `2002::/16 (6to4)`. */
  form: string;
  ipv4: ipaddr.IPv4[];
}

const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

/** The IPv4 address(es) an IPv6 address embeds, or null. (IPv4-mapped is unmapped before this.) */
export function embeddedIpv4(a: ipaddr.IPv6): Embedding | null {
  const p = a.parts as number[];
  const [p0, p1, p2, p3, p4, p5, p6, p7] = p as [number, number, number, number, number, number, number, number];
  const zero4 = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0;
  // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 2.5.5.1); :: and ::1 are in the table.
  if (zero4 && p4 === 0 && p5 === 0 && (p6 !== 0 || p7 > 1)) return { form: '::/96 (IPv4-compatible)', ipv4: [v4(p6, p7)] };
  // IPv4-translated ::ffff:0:a.b.c.d (RFC 6145 / 7915).
  if (zero4 && p4 === 0xffff && p5 === 0) return { form: '::ffff:0:0:0/96 (IPv4-translated)', ipv4: [v4(p6, p7)] };
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the translator connects to the embedded IPv4.
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) return { form: '64:ff9b::/96 (NAT64)', ipv4: [v4(p6, p7)] };
  // 6to4 2002:AABB:CCDD::/48 (RFC 3056): relayed to AA.BB.CC.DD.
  if (p0 === 0x2002) return { form: '2002::/16 (6to4)', ipv4: [v4(p1, p2)] };
  // Teredo 2001:0:SERVER:flags:port:~CLIENT (RFC 4380): the server and the obfuscated client IPv4.
  if (p0 === 0x2001 && p1 === 0) return { form: '2001::/32 (Teredo)', ipv4: [v4(p2, p3), v4(~p6 & 0xffff, ~p7 & 0xffff)] };
  return null;
}

/** `::ffff:a.b.c.d` is a.b.c.d on a dual-stack socket: judge and connect to it as IPv4. */
export function unmap(a: Addr): Addr {
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

export function inRange(a: Addr, r: Range): boolean {
  return a.kind() === r.net.kind() && a.match(r.net, r.bits);
}
