/**
 * The public shapes of the egress guard: purposes, requests, responses, check answers, the
 * injectable resolver and the reasons a verdict gives. Types and the list of purposes only.
 */

import { EGRESS_PURPOSE_NAMES } from '../api/egress.js';
import type { Actor } from '../api/actor.js';

/** Why an outbound request is made; each purpose has its own policy (config egress.purposes). */
export type EgressPurpose = 'callback' | 'notify' | 'fetch' | 'forward';
export const EGRESS_PURPOSES: readonly EgressPurpose[] = EGRESS_PURPOSE_NAMES;

export interface EgressRequest {
  url: string;
  purpose: EgressPurpose;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** who asked, for the audit */
  actor?: Actor;
  requestId?: string;
}

export interface EgressResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** final URL after redirects */
  url: string;
}

/** The answer of Egress.check(): would this URL be allowed now, and why. */
export interface EgressCheck {
  allowed: boolean;
  /** A stable snake_case reason (`allowed`, `loopback`, `metadata`, `unresolvable`, ...). */
  reason: string;
  /** The addresses the name resolved to (or the literal), as checked. */
  addresses: string[];
  /** The rule that decided (`127.0.0.0/8`, `allowCidrs 10.0.0.0/8`, `denyHosts *.corp`), or null. */
  rule: string | null;
}

/**
 * Resolves a host name to its addresses, once per connection. Tests inject one; the default uses
 * the system resolver (getaddrinfo). Throws or returns [] when the name does not resolve.
 */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

/** Reasons an address is denied, one per special-purpose range family. */
export type AddressReason =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrier_grade_nat'
  | 'link_local'
  | 'metadata'
  | 'unique_local'
  | 'site_local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'ipv4_compatible'
  | 'not_global_unicast';

/** Reasons a URL is refused before any address is looked at. */
export type UrlReason =
  | 'unparseable'
  | 'scheme_not_allowed'
  | 'userinfo_not_allowed'
  | 'port_not_allowed'
  | 'host_not_allowed'
  | 'host_denied'
  | 'metadata'
  | 'unresolvable'
  | 'too_many_redirects';

export type AllowReason = 'allowed' | 'allowed_by_exception';

/** One decision: allowed or not, the reason, and the rule that decided (null: the default). */
export interface Verdict {
  allowed: boolean;
  reason: AddressReason | UrlReason | AllowReason;
  rule: string | null;
}
