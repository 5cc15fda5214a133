/**
 * Classifies one IP address for an outbound connection: metadata and unspecified always denied,
 * then operator exceptions, then the special-purpose tables (SSRF into loopback, LAN, link-local,
 * cloud metadata). Pure functions over precompiled ranges; never resolves names.
 */
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors.js';
import { FAKE_IP, GLOBAL_UNICAST, IPV4_DENIED, IPV6_DENIED, METADATA_ADDRESSES, embeddedIpv4, inRange, unmap, type Addr, type Range } from './ranges.js';
import type { Verdict } from './types.js';

export interface AddressPolicy {
  /** Operator exceptions (config only, never from a request). */
  allowCidrs: readonly Range[];
  /** 198.18.0.0/15 passes (fake-IP proxies). */
  allowFakeIp: boolean;
}

export const ALLOWED: Verdict = Object.freeze({ allowed: true, reason: 'allowed', rule: null });

const METADATA: readonly Addr[] = [...METADATA_ADDRESSES].map((s) => ipaddr.parse(s));

function isMetadata(a: Addr): boolean {
  for (const m of METADATA) if (a.kind() === m.kind() && a.match(m, m.kind() === 'ipv4' ? 32 : 128)) return true;
  return false;
}

/**
 * `::a.b.c.d` in hex groups. ipaddr.js reads that spelling as IPv4-mapped `::ffff:a.b.c.d`, but a
 * socket reads it as IPv4-compatible `::a.b.c.d` (RFC 4291): spell it out so both agree.
 */
function hexTail(t: string): string {
  const m = /^([0-9a-fA-F:]*:)(\d+)\.(\d+)\.(\d+)\.(\d+)(%.*)?$/.exec(t);
  if (!m) return t;
  const [a, b, c, d] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  if (!ipaddr.IPv4.isValidFourPartDecimal(`${m[2]}.${m[3]}.${m[4]}.${m[5]}`)) return t;
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}${m[6] ?? ''}`;
}

/** Parses an address as a resolver or an undici hostname gives it (IPv6 may carry a zone, or brackets). */
export function parseAddress(text: string): Addr | null {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(t)) return ipaddr.IPv4.parse(t);
  const v6 = hexTail(t);
  return ipaddr.IPv6.isValid(v6) ? ipaddr.IPv6.parse(v6) : null;
}

/** The address to connect to: IPv4-mapped IPv6 is connected to as the IPv4 it means. */
export function connectAddress(a: Addr): string {
  return unmap(a).toString();
}

/**
 * Compiles operator exceptions (CIDRs or single addresses, canonical spellings only) once, at
 * construction. A bad entry is config_invalid naming the key.
 */
export function compileCidrs(entries: readonly string[], key: string): Range[] {
  return entries.map((entry) => {
    const text = entry.trim();
    try {
      if (text.includes('/')) {
        const slash = text.indexOf('/');
        const addr = parseAddress(text.slice(0, slash));
        const bits = /^\d{1,3}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN;
        if (!addr || !(bits <= (addr.kind() === 'ipv4' ? 32 : 128))) throw new Error('not a CIDR');
        const net = unmap(addr);
        if (net !== addr && bits < 96) throw new Error('IPv4-mapped CIDR shorter than /96');
        return { cidr: text, net, bits: net === addr ? bits : bits - 96 };
      }
      const a = parseAddress(text);
      if (!a) throw new Error('not an address');
      const net = unmap(a);
      return { cidr: text, net, bits: net.kind() === 'ipv4' ? 32 : 128 };
    } catch {
      throw new GatewayError('config_invalid', `${key}: ${JSON.stringify(entry)} is not an IP address or CIDR`);
    }
  });
}

function denied(reason: Verdict['reason'], rule: string): Verdict {
  return { allowed: false, reason, rule };
}

function classifyIpv4(a: ipaddr.IPv4, allowFakeIp: boolean): Verdict {
  for (const r of IPV4_DENIED) {
    if (!a.match(r.net, r.bits)) continue;
    if (r === FAKE_IP && allowFakeIp) return { allowed: true, reason: 'allowed_by_exception', rule: `allowFakeIp ${r.cidr}` };
    return denied(r.reason, r.cidr);
  }
  return ALLOWED;
}

function classifyIpv6(a: ipaddr.IPv6, allowFakeIp: boolean): Verdict {
  // Embedded IPv4 (NAT64, 6to4, Teredo, IPv4-compatible, -translated): judged as the IPv4 reached.
  const embedding = embeddedIpv4(a);
  if (embedding) {
    for (const inner of embedding.ipv4) {
      const v = classifyIpv4(inner, allowFakeIp);
      if (!v.allowed) return denied(v.reason, `${embedding.form} embeds ${inner.toString()} in ${v.rule}`);
    }
    // ::a.b.c.d is deprecated and routed nowhere public; nothing legitimate resolves to it.
    if (embedding.form.startsWith('::/96')) return denied('ipv4_compatible', embedding.form);
    return ALLOWED;
  }
  for (const r of IPV6_DENIED) if (a.match(r.net, r.bits)) return denied(r.reason, r.cidr);
  if (!inRange(a, GLOBAL_UNICAST)) return denied('not_global_unicast', `outside ${GLOBAL_UNICAST.cidr}`);
  return ALLOWED;
}

/** Always denied, whatever the exceptions: metadata (also embedded in IPv6) and unspecified. */
function hardDenial(a: Addr): Verdict | null {
  if (isMetadata(a)) return denied('metadata', `metadata ${a.toString()}`);
  if (a.kind() === 'ipv4' ? (a as ipaddr.IPv4).octets[0] === 0 : a.range() === 'unspecified')
    return denied('unspecified', a.kind() === 'ipv4' ? '0.0.0.0/8' : '::/128');
  if (a.kind() === 'ipv6') {
    for (const inner of embeddedIpv4(a as ipaddr.IPv6)?.ipv4 ?? []) {
      if (isMetadata(inner)) return denied('metadata', `metadata ${inner.toString()} embedded in ${a.toString()}`);
    }
  }
  return null;
}

/** The verdict for connecting to `address` under `policy`. */
export function classifyAddress(address: Addr, policy: AddressPolicy): Verdict {
  const a = unmap(address);
  const hard = hardDenial(a);
  if (hard) return hard;
  for (const r of policy.allowCidrs) if (inRange(a, r)) return { allowed: true, reason: 'allowed_by_exception', rule: `allowCidrs ${r.cidr}` };
  return a.kind() === 'ipv4' ? classifyIpv4(a as ipaddr.IPv4, policy.allowFakeIp) : classifyIpv6(a as ipaddr.IPv6, policy.allowFakeIp);
}
