/**
 * Compiles the `egress` config section into one immutable policy per purpose: CIDRs and host
 * patterns parsed once (config_invalid on a bad entry), never per request. Exceptions come only
 * from here, that is from the operator's configuration, never from a request.
 */
import type { EgressConfig, EgressPurposeConfig } from '../config/sections/egress.js';
import { compileCidrs, type AddressPolicy } from './address-policy.js';
import { compileHosts, type HostMatcher } from './hosts.js';
import { EGRESS_PURPOSES, type EgressPurpose } from './types.js';

export interface PurposePolicy {
  purpose: EgressPurpose;
  /** null: any name (the address checks still apply). */
  allowHosts: HostMatcher | null;
  denyHosts: HostMatcher;
  address: AddressPolicy;
  /** null: any port. */
  ports: ReadonlySet<number> | null;
  portList: string;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
}

export interface EgressPolicy {
  /** The config object this was compiled from (identity tells when to recompile). */
  source: EgressConfig;
  purposes: Readonly<Record<EgressPurpose, PurposePolicy>>;
}

function compilePurpose(purpose: EgressPurpose, c: EgressPurposeConfig, allowFakeIp: boolean): PurposePolicy {
  const key = `egress.purposes.${purpose}`;
  return Object.freeze({
    purpose,
    allowHosts: c.allowHosts.length > 0 ? compileHosts(c.allowHosts, `${key}.allowHosts`) : null,
    denyHosts: compileHosts(c.denyHosts, `${key}.denyHosts`),
    address: Object.freeze({ allowCidrs: compileCidrs(c.allowCidrs, `${key}.allowCidrs`), allowFakeIp }),
    ports: c.ports.length > 0 ? new Set(c.ports) : null,
    portList: c.ports.join(','),
    maxBytes: c.maxBytes,
    timeoutMs: c.timeoutMs,
    maxRedirects: Math.min(c.maxRedirects, 5),
  });
}

/** Throws config_invalid naming the key of the first bad entry. */
export function compileEgressPolicy(config: EgressConfig): EgressPolicy {
  const purposes = {} as Record<EgressPurpose, PurposePolicy>;
  for (const p of EGRESS_PURPOSES) purposes[p] = compilePurpose(p, config.purposes[p], config.allowFakeIp);
  return Object.freeze({ source: config, purposes: Object.freeze(purposes) });
}
