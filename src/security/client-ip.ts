/**
 * The one place that derives the client address. IP spoofing: X-Forwarded-For is believed only when
 * the socket peer is a configured trusted proxy, and then the client is the rightmost address that
 * is not itself a trusted proxy, so a forged leftmost entry changes nothing. X-Forwarded-Proto is
 * believed from the same proxies only. Reads config only.
 */
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors.js';

/** What the client address is derived from: the raw message (Node's IncomingMessage, or Fastify's request.raw). */
export interface AddressedRequest {
  /** Read for X-Forwarded-For, when the peer is a trusted proxy. */
  readonly headers: { readonly [name: string]: string | string[] | undefined };
  readonly socket?: { readonly remoteAddress?: string | undefined } | null | undefined;
}

export interface ClientIpOptions {
  /** CIDRs or single addresses. Empty (default): X-Forwarded-For is ignored. */
  trustedProxies: readonly string[];
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 peer) becomes `1.2.3.4`. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Strict: dotted-quad IPv4 or IPv6 only (a proxy never writes 0x7f.1). */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return undefined;
  return unmap(ipaddr.parse(text));
}

function unmap(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

function compileEntry(entry: string): Range {
  if (entry.includes('/')) {
    const [addr, bits] = ipaddr.parseCIDR(entry);
    const net = unmap(addr);
    return [net, net === addr ? bits : bits - 96];
  }
  // Only canonical spellings here: an operator's list should not depend on inet_aton quirks.
  if (!ipaddr.IPv4.isValidFourPartDecimal(entry) && !ipaddr.IPv6.isValid(entry)) throw new Error('not an address');
  const a = unmap(ipaddr.parse(entry));
  return [a, a.kind() === 'ipv4' ? 32 : 128];
}

function compile(opts: ClientIpOptions): Range[] {
  return opts.trustedProxies.map((entry) => {
    try {
      return compileEntry(entry.trim());
    } catch {
      throw new GatewayError('config_invalid', `trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR`);
    }
  });
}

function inRanges(ranges: Range[], a: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  for (const [net, bits] of ranges) if (a.kind() === net.kind() && a.match(net, bits)) return true;
  return false;
}

export function clientIp(initial: ClientIpOptions) {
  let ranges = compile(initial);

  function clientIp(req: AddressedRequest): string {
    const peer = normaliseAddress(req.socket?.remoteAddress ?? '');
    if (ranges.length === 0) return peer;
    const peerAddr = parseAddress(peer);
    if (!peerAddr || !inRanges(ranges, peerAddr)) return peer;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return peer;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseAddress((hops[i] as string).trim());
      // A hop that is not an address cannot be believed, nor anything left of it.
      if (!hop) return client;
      client = hop.toString();
      if (!inRanges(ranges, hop)) return client;
    }
    return client;
  }

  /**
   * Whether the client reached a trusted proxy over HTTPS (`X-Forwarded-Proto: https` from a peer on
   * the list; nobody else is believed): the scheme of the gateway's own origin behind a proxy that
   * terminates TLS, and whether the console cookie must be `Secure`.
   */
  function forwardedHttps(req: AddressedRequest): boolean {
    if (ranges.length === 0) return false;
    const proto = req.headers['x-forwarded-proto'];
    if (typeof proto !== 'string' || proto.toLowerCase() !== 'https') return false;
    const peerAddr = parseAddress(normaliseAddress(req.socket?.remoteAddress ?? ''));
    return peerAddr !== undefined && inRanges(ranges, peerAddr);
  }

  return Object.assign(clientIp, {
    forwardedHttps,
    reconfigure(next: ClientIpOptions): void {
      ranges = compile(next);
    },
  });
}
