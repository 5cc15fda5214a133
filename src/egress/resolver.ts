/**
 * Resolves a host once and checks every address it resolves to (DNS rebinding: the addresses
 * checked are the addresses connected to; nothing resolves the name a second time). The default
 * resolver is the system's (getaddrinfo); tests inject their own. Fails closed: no answer, no entry.
 */
import { lookup } from 'node:dns/promises';
import { classifyAddress, connectAddress, parseAddress, type AddressPolicy } from './address-policy.js';
import type { Resolver, Verdict } from './types.js';

export const systemResolver: Resolver = async function systemResolver(hostname) {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => a.address);
};

export interface CheckedTarget {
  verdict: Verdict;
  /** Every address the name resolved to (or the literal), in the resolver's order. */
  addresses: string[];
  /** The checked addresses to connect to (IPv4-mapped unmapped, duplicates removed); empty when denied. */
  connect: string[];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('resolution timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const UNRESOLVABLE = (addresses: string[], rule: string | null): CheckedTarget => ({
  verdict: { allowed: false, reason: 'unresolvable', rule },
  addresses,
  connect: [],
});

/**
 * `host` as the URL has it (IPv6 without brackets). A literal is checked as it is; a name is
 * resolved once, and one denied address denies the whole name (a mixed answer is an attack).
 */
export async function resolveChecked(host: string, policy: AddressPolicy, resolver: Resolver, timeoutMs: number): Promise<CheckedTarget> {
  const literal = parseAddress(host);
  let answers: readonly string[];
  if (literal) answers = [host];
  else {
    try {
      answers = await withTimeout(resolver(host), timeoutMs);
    } catch {
      return UNRESOLVABLE([], null);
    }
    if (!Array.isArray(answers) || answers.length === 0) return UNRESOLVABLE([], null);
  }
  const addresses = [...answers];
  const connect: string[] = [];
  let decided: Verdict | null = null;
  for (const text of addresses) {
    const a = parseAddress(text);
    if (!a) return UNRESOLVABLE(addresses, `resolver answered ${JSON.stringify(text)}, not an address`);
    const v = classifyAddress(a, policy);
    if (!v.allowed) return { verdict: v, addresses, connect: [] };
    if (decided === null || (decided.rule === null && v.rule !== null)) decided = v;
    const target = connectAddress(a);
    if (!connect.includes(target)) connect.push(target);
  }
  return { verdict: decided as Verdict, addresses, connect };
}
