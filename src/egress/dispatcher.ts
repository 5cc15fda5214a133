/**
 * The undici agent of one purpose, whose connect resolves the host once, checks every address and
 * connects to a checked address (an IP literal, so the socket never resolves anything). This is
 * where DNS rebinding ends: the address checked is the address connected to.
 */
import type { LookupFunction } from 'node:net';
import type { Agent, buildConnector } from 'undici';
import { undici } from './undici.js';
import type { PurposePolicy } from './policy.js';
import { EgressRefusal } from './refusal.js';
import { resolveChecked } from './resolver.js';
import type { Resolver } from './types.js';

export interface CheckedAgentOptions {
  policy: PurposePolicy;
  resolver: Resolver;
}

/**
 * Belt and braces: the socket is only ever given an IP literal, for which node:net never calls
 * lookup. Should that change, a second resolution is refused instead of happening silently.
 */
const refuseSecondLookup: LookupFunction = function refuseSecondLookup(hostname, _options, callback) {
  callback(Object.assign(new Error(`egress: refused a second resolution of ${hostname}`), { code: 'MOAT_EGRESS_SECOND_LOOKUP' }), '', 4);
};

type Connector = ReturnType<typeof buildConnector>;
type ConnectOptions = Parameters<Connector>[0];
type ConnectCallback = Parameters<Connector>[1];

/** Tries the checked addresses in order (all passed the check), as a resolver's answer is meant. */
function connectFirst(raw: Connector, options: ConnectOptions, addresses: readonly string[], i: number, callback: ConnectCallback): void {
  raw({ ...options, hostname: addresses[i] as string }, (...args) => {
    if (args[0] !== null && i + 1 < addresses.length) connectFirst(raw, options, addresses, i + 1, callback);
    else callback(...args);
  });
}

export function checkedAgent(opts: CheckedAgentOptions): Agent {
  const { policy, resolver } = opts;
  // servername (SNI and the certificate check) comes from `host`, the name in the URL, never the address.
  const { Agent, buildConnector } = undici();
  const raw = buildConnector({ lookup: refuseSecondLookup, timeout: policy.timeoutMs });
  return new Agent({
    connect: function checkedConnect(options, callback) {
      resolveChecked(options.hostname, policy.address, resolver, policy.timeoutMs).then(
        (target) => {
          if (!target.verdict.allowed) {
            callback(new EgressRefusal(target.verdict, options.host ?? options.hostname, target.addresses), null);
            return;
          }
          connectFirst(raw, options, target.connect, 0, callback);
        },
        (err: Error) => callback(err, null),
      );
    },
    headersTimeout: policy.timeoutMs,
    bodyTimeout: policy.timeoutMs,
    maxResponseSize: -1,
  });
}
