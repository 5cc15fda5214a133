/**
 * Host allowlist. DNS rebinding: a web page whose name resolves to this host sends its own name in
 * Host, so Host must be a name we bound or were told about. Node's parser lets several bad shapes
 * through (duplicates, userinfo, absolute-form targets), so the raw header list is read here.
 * Reads config only.
 */
import { isIP } from 'node:net';
import { GatewayError } from '../errors.js';
import type { BindClass } from '../config/bind.js';

/** What the host guard reads: the raw message (Node's IncomingMessage, or Fastify's request.raw). */
export interface HostRequest {
  /** Name, value, name, value, ...: every Host line as sent (Node's `headers` keeps only the first). */
  readonly rawHeaders: readonly string[];
  /** The request target as sent. */
  readonly url?: string | undefined;
}

export interface HostGuardOptions {
  bindHost: string;
  bindClass: BindClass;
  port: number;
  tls: boolean;
  publicNames: readonly string[];
}

interface Allowed {
  /** Exact lowercase `name:port` (and bare `name` where the port is the scheme default). */
  exact: Set<string>;
  /** Public names given without a port: any port matches. */
  anyPort: Set<string>;
}

const NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** A port as RFC 3986 3.2.3 normalizes it and a client writes it: 1-65535, no leading zero, not empty. */
const PORT = /^[1-9][0-9]{0,4}$/;

function portValid(port: string): boolean {
  return PORT.test(port) && Number(port) <= 65535;
}

/** Splits `name[:port]` / `[v6][:port]`; undefined when the shape is not an authority we accept. */
function splitAuthority(value: string): { name: string; port: string | undefined } | undefined {
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !(rest.startsWith(':') && portValid(rest.slice(1)))) return undefined;
    return { name: value.slice(0, end + 1), port: rest === '' ? undefined : rest.slice(1) };
  }
  const colon = value.lastIndexOf(':');
  if (colon < 0) return { name: value, port: undefined };
  const port = value.slice(colon + 1);
  if (!portValid(port)) return undefined;
  return { name: value.slice(0, colon), port };
}

/** Lowercase; an IPv6 address bracketed in its canonical form (the form clients write). Boot only. */
function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  if (isIP(lower) !== 6) return lower;
  try {
    return new URL(`http://[${lower}]/`).hostname;
  } catch {
    return `[${lower}]`; // a zone id: kept as given (URL refuses it)
  }
}

function compile(opts: HostGuardOptions): Allowed {
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  const defaultPort = opts.tls ? 443 : 80;
  const add = (name: string, port: number) => {
    exact.add(`${name}:${port}`);
    if (port === defaultPort) exact.add(name);
  };
  add(normaliseName(opts.bindHost), opts.port);
  // Loopback names are not a rebinding vector (no attacker controls them); an all-interfaces bind
  // listens on loopback too, so local clients reach it the same way.
  if (opts.bindClass !== 'specific') for (const n of ['localhost', '127.0.0.1', '[::1]']) add(n, opts.port);
  for (const raw of opts.publicNames) {
    const parts = splitAuthority(raw.trim().toLowerCase());
    const bare = parts?.name.replace(/^\[|\]$/g, '') ?? '';
    // A zone id (fe80::1%eth0) names an interface of this host: no client writes it in Host.
    if (!parts || (!NAME.test(bare) && isIP(bare) === 0) || bare.includes('%')) {
      throw new GatewayError('config_invalid', `publicNames: ${JSON.stringify(raw)} is not a host name or address (with an optional :port of 1-65535)`);
    }
    const name = normaliseName(bare);
    if (parts.port === undefined) anyPort.add(name);
    else add(name, Number(parts.port));
  }
  return { exact, anyPort };
}

function isAllowed(allowed: Allowed, value: string): boolean {
  const lower = value.toLowerCase();
  if (allowed.exact.has(lower)) return true;
  if (allowed.anyPort.size === 0) return false;
  const parts = splitAuthority(lower);
  return parts !== undefined && allowed.anyPort.has(parts.name);
}

function refuse(reason: string): never {
  throw new GatewayError('host_not_allowed', reason);
}

export function hostGuard(initial: HostGuardOptions) {
  let allowed = compile(initial);

  function hostGuard(req: HostRequest): void {
    const raw = req.rawHeaders;
    let host: string | undefined;
    let authority: string | undefined;
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length === 4 && (name === 'host' || name === 'Host' || name.toLowerCase() === 'host')) {
        hosts++;
        host = raw[i + 1];
      } else if (name === ':authority') {
        authority = raw[i + 1];
      }
    }
    if (hosts > 1) refuse('duplicate Host headers');
    // HTTP/2 carries the authority in :authority; a Host header, if also sent, must agree.
    if (authority !== undefined && host !== undefined && authority !== host) refuse('Host and :authority disagree');
    const value = authority ?? host;
    if (value === undefined || value === '') refuse('missing Host header');
    if (!isAllowed(allowed, value)) refuse('Host is not a name this gateway answers to');
    // Absolute-form target (RFC 9112 3.2.2): its authority wins over Host, so it must be allowed too.
    const url = req.url ?? '';
    if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
      const match = /^https?:\/\/([^/?#]*)/i.exec(url);
      if (!match || !isAllowed(allowed, match[1] as string)) refuse('request target names another host');
    }
  }

  return Object.assign(hostGuard, {
    /** Rebuilds the allowlist (validated first, swapped atomically): after listen, and on live config. */
    reconfigure(next: HostGuardOptions): void {
      allowed = compile(next);
    },
  });
}
