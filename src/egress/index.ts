/**
 * The egress guard's public face: the Egress client, its types and the policy compiler (for live
 * config validation). Other modules import from here, never from the files behind it.
 */
export { Egress, type EgressOptions } from './client.js';
export { compileEgressPolicy } from './policy.js';
export { systemResolver } from './resolver.js';
export { EGRESS_PURPOSES, type EgressCheck, type EgressPurpose, type EgressRequest, type EgressResponse, type Resolver } from './types.js';
