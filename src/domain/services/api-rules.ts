/**
 * The rules for a service that comes in through the API rather than the operator's config file, in
 * one function for every entry point: POST and PATCH /api/v1/services, and the `services` of
 * PATCH /api/v1/config (and what those left on disk, at boot). Pure: compiles the operator's options
 * once (config_invalid at boot) and checks one spec against them.
 */
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../../errors.js';
import { checkService, type ServiceDefinition, type ServiceSpec } from './spec.js';

/** One entry of supervisor.apiTargets: a loopback host (or any) and a port range. */
interface TargetRule {
  /** Normalised hostname as `new URL().hostname` spells it (`127.0.0.1`, `[::1]`, `localhost`); null: any loopback. */
  host: string | null;
  low: number;
  high: number;
}

export interface ApiRules {
  /** supervisor.allowApiCommands: `command` services (programs moat runs) through the API. */
  allowApiCommands: boolean;
  targets: readonly TargetRule[];
}

/** Who is asking: admin (the operator's token) may register any loopback target. */
export interface ApiCaller {
  admin: boolean;
}

const PORT_RANGE = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/;

function parsePorts(text: string, entry: string): { low: number; high: number } {
  const m = PORT_RANGE.exec(text);
  const low = Number(m?.[1]);
  const high = m?.[2] === undefined ? low : Number(m[2]);
  if (!m || low < 1 || high > 65_535 || low > high)
    throw new GatewayError('config_invalid', `supervisor.apiTargets: ${JSON.stringify(entry)} is not a port or port range (1-65535)`);
  return { low, high };
}

/** The loopback host of an entry, spelt as a URL's hostname; refuses anything off loopback. */
function loopbackHost(text: string, entry: string): string {
  if (text.toLowerCase() === 'localhost') return 'localhost';
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.isValid(bare)) {
    const addr = ipaddr.parse(bare);
    if (addr.range() === 'loopback') return addr.kind() === 'ipv6' ? `[${addr.toString()}]` : addr.toString();
  }
  throw new GatewayError(
    'config_invalid',
    `supervisor.apiTargets: ${JSON.stringify(entry)} is not on loopback (127.0.0.0/8, [::1], localhost): only the config file reaches other hosts`,
  );
}

/** Compiles the operator's options; throws config_invalid on a bad apiTargets entry (at boot). */
export function apiRules(opts: { allowApiCommands: boolean; apiTargets: readonly string[] }): ApiRules {
  const targets = opts.apiTargets.map((raw): TargetRule => {
    const entry = raw.trim();
    const colon = entry.lastIndexOf(':');
    if (colon < 0 || (entry.startsWith('[') && entry.lastIndexOf(']') > colon)) return { host: null, ...parsePorts(entry, raw) };
    return { host: loopbackHost(entry.slice(0, colon), raw), ...parsePorts(entry.slice(colon + 1), raw) };
  });
  return { allowApiCommands: opts.allowApiCommands, targets };
}

/** Whether a loopback baseUrl is among the operator's apiTargets. */
function targetAllowed(rules: ApiRules, baseUrl: string): boolean {
  const url = new URL(baseUrl);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return rules.targets.some((t) => (t.host === null || t.host === url.hostname) && port >= t.low && port <= t.high);
}

/**
 * Checks a service that comes in through the API: the spec rules (loopback only, no
 * allowNonLoopback, no upstreamHeaders), then the operator's: `command` only with allowApiCommands,
 * and for a caller that is not admin, only a target among supervisor.apiTargets.
 */
export function checkApiService(spec: ServiceSpec, caller: ApiCaller, rules: ApiRules): ServiceDefinition {
  const def = checkService(spec, 'api');
  // Remote code execution: a `command` service is a program moat runs as its own user.
  if (def.kind === 'command' && !rules.allowApiCommands) {
    throw new GatewayError(
      'service_command_refused',
      'command services can be registered through the API only when the operator sets supervisor.allowApiCommands',
    );
  }
  // Port scan and local SSRF: a `services` token choosing any loopback port would read its health
  // answers (the probe) and POST to any of its paths (a job), around the egress guard.
  if (!caller.admin && !targetAllowed(rules, def.baseUrl)) {
    const host = new URL(def.baseUrl).host;
    throw new GatewayError(
      'service_target_refused',
      `services: ${JSON.stringify(def.name)}: ${host} is not among the targets the operator allows for tokens without admin (supervisor.apiTargets); ask the operator to add it, or register it with the admin token (moat service add)`,
    );
  }
  return def;
}
