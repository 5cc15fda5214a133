/**
 * Host-name lists of the egress policy (allowHosts, denyHosts): exact names, `*.example.com` for
 * any name under it, or IP literals, canonicalised by the same WHATWG parser the URLs go through
 * (case, IDN, numeric IPv4 spellings, trailing dot), so a spelling cannot slip past a list.
 */
import { GatewayError } from '../errors.js';

export interface HostMatcher {
  exact: ReadonlyMap<string, string>;
  /** [suffix with its leading dot, the pattern as written] */
  suffixes: ReadonlyArray<readonly [string, string]>;
  size: number;
}

/**
 * The host of a parsed http(s) URL as the lists compare it: no IPv6 brackets, no trailing dots
 * (`evil.example..` is `evil.example` to a resolver). '' for a name with an empty label.
 */
export function canonicalHost(hostname: string): string {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  let end = hostname.length;
  while (end > 0 && hostname.charCodeAt(end - 1) === 0x2e) end--;
  const h = hostname.slice(0, end);
  return h.startsWith('.') || h.includes('..') ? '' : h;
}

const isIpLiteral = (h: string) => h.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(h);

/** One pattern through the URL parser; undefined when it is not a bare host name or literal. */
function canonicalPattern(text: string): string | undefined {
  if (text === '' || /[/?#@\\\s]/.test(text)) return undefined;
  const literal = text.includes(':') && !text.startsWith('[') ? `[${text}]` : text; // a bare IPv6 literal
  let url: URL;
  try {
    url = new URL(`http://${literal}/`);
  } catch {
    return undefined;
  }
  if (url.port !== '' || url.username !== '' || url.password !== '' || url.pathname !== '/') return undefined;
  return canonicalHost(url.hostname);
}

/** Compiles a host list once, at construction; a bad pattern is config_invalid naming the key. */
export function compileHosts(entries: readonly string[], key: string): HostMatcher {
  const exact = new Map<string, string>();
  const suffixes: Array<readonly [string, string]> = [];
  for (const entry of entries) {
    const text = entry.trim();
    const wildcard = text.startsWith('*.');
    const rest = wildcard ? text.slice(2) : text;
    const host = rest.includes('*') ? undefined : canonicalPattern(rest);
    if (host === undefined || host === '' || (wildcard && isIpLiteral(host))) {
      throw new GatewayError('config_invalid', `${key}: ${JSON.stringify(entry)} is not a host name, \`*.name\` or an IP literal`);
    }
    if (wildcard) suffixes.push([`.${host}`, text]);
    else exact.set(host, text);
  }
  return { exact, suffixes, size: entries.length };
}

/** The pattern that matches `host` (canonical), or null. */
export function matchHost(m: HostMatcher, host: string): string | null {
  const hit = m.exact.get(host);
  if (hit !== undefined) return hit;
  for (const [suffix, pattern] of m.suffixes) if (host.endsWith(suffix)) return pattern;
  return null;
}
