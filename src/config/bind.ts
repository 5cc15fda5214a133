/**
 * Bind classification and the boot matrix: decides auth and TLS from the bind address and refuses
 * unsafe shapes before any socket opens. Pure: reads the config it is given, nothing else.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors.js';
import type { Config } from './schema.js';

export type BindClass = 'loopback' | 'specific' | 'all';

export interface BootPosture {
  host: string;
  bindClass: BindClass;
  tls: boolean;
  auth: boolean;
  /** Weakenings that are allowed but must be logged and audited at boot. */
  warnings: string[];
}

/** Loopback: 127.0.0.0/8, ::1 (and its IPv4-mapped form), `localhost`. All: 0.0.0.0, ::. */
export function classifyBind(host: string): BindClass {
  if (host.toLowerCase() === 'localhost') return 'loopback';
  if (isIP(host) === 0) {
    throw new GatewayError(
      'config_invalid',
      `bind address ${JSON.stringify(host)} is not an IP address or localhost; give the address to bind (e.g. --host 127.0.0.1)`,
    );
  }
  let addr = ipaddr.parse(host);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  const range = addr.range();
  if (range === 'unspecified') return 'all';
  if (range === 'loopback') return 'loopback';
  return 'specific';
}

/**
 * The boot matrix (DESIGN.md): loopback may run without auth or TLS; any other bind forces both on,
 * and all interfaces also need `expose`. A refusal says why and what to do, in one line.
 */
export function bootPosture(config: Readonly<Config>): BootPosture {
  const host = config.host;
  const bindClass = classifyBind(host);
  const warnings: string[] = [];
  const tlsAsked = config.tls.enabled;
  const authOn = config.auth.enabled;

  if (bindClass === 'loopback') {
    if (!authOn) warnings.push(`auth is off on loopback bind ${host}: any local process or web page reaching the port acts as admin`);
    if (config.workspaces.allowClientScope) {
      warnings.push('workspaces.allowClientScope is on: clients with scope tools may open any directory under workspaces.clientScopeBase');
    }
    if (config.metrics.public) warnings.push('metrics.public is on: any local process may read GET /metrics without a token');
    if (config.supervisor.allowApiCommands) warnings.push(API_COMMANDS_WARNING);
    // An operator's certificate is given to be served: it turns TLS on, and contradicts --no-tls.
    const certGiven = config.tls.cert !== undefined || config.tls.key !== undefined;
    if (certGiven && tlsAsked === false) {
      throw new GatewayError(
        'config_invalid',
        'refusing to boot: --tls-cert/--tls-key (tls.cert, tls.key) are given but TLS is turned off (--no-tls, MOAT_TLS=0); drop one of them',
      );
    }
    return { host, bindClass, tls: tlsAsked === true || certGiven, auth: authOn, warnings };
  }
  const where = bindClass === 'all' ? `all interfaces (${host})` : `non-loopback address ${host}`;
  if (!authOn) {
    throw new GatewayError('config_unsafe', `refusing to boot: auth cannot be turned off on ${where}; drop --no-auth (MOAT_AUTH=0) or bind 127.0.0.1`);
  }
  if (tlsAsked === false) {
    throw new GatewayError('config_unsafe', `refusing to boot: TLS cannot be turned off on ${where}; drop --no-tls (MOAT_TLS=0) or bind 127.0.0.1`);
  }
  if (bindClass === 'all' && !config.expose) {
    throw new GatewayError(
      'config_unsafe',
      `refusing to boot: binding ${where} needs --expose (MOAT_EXPOSE=1); or bind one address (e.g. a LAN or Tailscale IP)`,
    );
  }
  // Reconnaissance: request counts, route and service names are for the operator, not the network.
  if (config.metrics.public) {
    throw new GatewayError(
      'config_unsafe',
      `refusing to boot: metrics.public (GET /metrics without a token) is for loopback only, not ${where}; drop --metrics-public (MOAT_METRICS_PUBLIC=0) or give the scraper a token with scope metrics`,
    );
  }
  // Workspace isolation: client-chosen roots are for a single user on one machine, never a network.
  if (config.workspaces.allowClientScope) {
    throw new GatewayError(
      'config_unsafe',
      `refusing to boot: workspaces.allowClientScope (clients choosing their own workspace roots) is for loopback only, not ${where}; drop --allow-client-scope (MOAT_WORKSPACES_ALLOW_CLIENT_SCOPE=0) or bind 127.0.0.1`,
    );
  }
  // Remote code execution by design: a `command` service registered through the API is a program
  // moat runs. Over a network, that is every token with scope services that reaches moat.
  if (config.supervisor.allowApiCommands) {
    if (!config.supervisor.acknowledgeRemoteCodeExecution) {
      throw new GatewayError(
        'config_unsafe',
        `refusing to boot: supervisor.allowApiCommands (any token with scope services runs programs on this host) on ${where} needs supervisor.acknowledgeRemoteCodeExecution too (MOAT_SUPERVISOR_ACKNOWLEDGE_REMOTE_CODE_EXECUTION=1); or drop allowApiCommands (declare command services in the config file) or bind 127.0.0.1`,
      );
    }
    warnings.push(`${API_COMMANDS_WARNING}, from the network (acknowledged with supervisor.acknowledgeRemoteCodeExecution)`);
  }
  return { host, bindClass, tls: true, auth: true, warnings };
}

const API_COMMANDS_WARNING =
  'supervisor.allowApiCommands is on: any token with scope services can run any program as the moat user (remote code execution by design)';
