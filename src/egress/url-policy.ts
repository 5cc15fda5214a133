/**
 * Parses and checks one URL before anything is resolved or connected: WHATWG parser only, http(s)
 * only, no userinfo, allowed port, host lists, metadata names, and IP-literal hosts (a check placed
 * only in the connect path's lookup would never see a literal). Names are resolved elsewhere.
 */
import { classifyAddress, parseAddress } from './address-policy.js';
import { canonicalHost, matchHost } from './hosts.js';
import type { PurposePolicy } from './policy.js';
import { METADATA_NAMES, type Addr } from './ranges.js';
import type { Verdict } from './types.js';

export type UrlCheck = { ok: true; url: URL; host: string; literal: Addr | null } | { ok: false; verdict: Verdict; url: URL | null; addresses: string[] };

const DEFAULT_PORT: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

function refused(url: URL | null, reason: Verdict['reason'], rule: string | null, addresses: string[] = []): UrlCheck {
  return { ok: false, verdict: { allowed: false, reason, rule }, url, addresses };
}

export function parseUrl(input: string | URL): URL | null {
  if (input instanceof URL) return input;
  try {
    return new URL(input);
  } catch {
    return null;
  }
}

/** The host as the connector gets it from undici: IPv6 without brackets, a name as written. */
export function socketHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

/** The port a URL connects to. */
export function portOf(url: URL): number {
  return url.port === '' ? (DEFAULT_PORT[url.protocol] ?? 0) : Number(url.port);
}

export function checkUrl(input: string | URL, policy: PurposePolicy): UrlCheck {
  const url = parseUrl(input);
  if (!url) return refused(null, 'unparseable', null);
  // Only the web schemes: file:, gopher:, ftp:, data:, dict: and friends reach other things.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refused(url, 'scheme_not_allowed', `scheme ${url.protocol}`);
  // Credentials in the URL (and the parser confusion of http://allowed@evil/) are refused outright.
  if (url.username !== '' || url.password !== '') return refused(url, 'userinfo_not_allowed', 'userinfo');
  const port = portOf(url);
  if (port === 0) return refused(url, 'port_not_allowed', 'port 0');
  if (policy.ports && !policy.ports.has(port)) return refused(url, 'port_not_allowed', `ports ${policy.portList}`);
  const host = canonicalHost(url.hostname);
  if (host === '') return refused(url, 'unparseable', null);
  if (METADATA_NAMES.has(host)) return refused(url, 'metadata', `metadata name ${host}`);
  const deny = matchHost(policy.denyHosts, host);
  if (deny !== null) return refused(url, 'host_denied', `denyHosts ${deny}`);
  if (policy.allowHosts && matchHost(policy.allowHosts, host) === null) return refused(url, 'host_not_allowed', 'allowHosts');
  const literal = parseAddress(host);
  if (literal) {
    const verdict = classifyAddress(literal, policy.address);
    if (!verdict.allowed) return refused(url, verdict.reason, verdict.rule, [host]);
  }
  return { ok: true, url, host, literal };
}
