/**
 * Doctor checks of the policy the operator configured: origin allowlist breadth, trusted proxies
 * against the bind and the headers that arrive, the ntfy topic, services outside loopback, command
 * services through the API, the tool
 * policy and its sandbox, client-chosen workspace roots, and rate limits. Pure functions.
 */
import ipaddr from 'ipaddr.js';
import { ntfyTopicProblem } from '../jobs/ntfy-topic.js';
import { isLoopbackHost } from '../services/spec.js';
import type { Check, Finding } from './types.js';

type Result = Omit<Finding, 'id'>;
const DAY_MS = 86_400_000;

const ORIGIN_PATTERN = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}|\*))?$/;

const origins: Check = {
  id: 'origins',
  needs: 'gateway',
  run(ctx): Result {
    const list = ctx.gateway!.config.allowedOrigins;
    if (list.length === 0) return { severity: 'ok', finding: 'no browser origin is allowed (CORS default-deny)', fix: 'none needed' };
    const bad: string[] = [];
    const cleartextWild: string[] = [];
    const wild: string[] = [];
    for (const raw of list) {
      const m = ORIGIN_PATTERN.exec(raw.trim().toLowerCase());
      if (!m) bad.push(raw);
      else if (m[2] !== undefined || m[4] === '*') (m[1] === 'http' ? cleartextWild : wild).push(raw);
    }
    if (bad.length > 0) {
      return {
        severity: 'fail',
        finding: `allowedOrigins holds ${bad.map((o) => JSON.stringify(o)).join(', ')}: not a scheme://host[:port] pattern (a * or a scheme-less entry lets any site in)`,
        fix: 'list exact origins such as https://app.example.com',
      };
    }
    if (cleartextWild.length > 0) {
      return {
        severity: 'warn',
        finding: `allowedOrigins has wildcards over plain http: ${cleartextWild.join(', ')}: any page on those hosts or ports (or one injected on the network path) can drive the API with a token it holds`,
        fix: 'list the exact origins (scheme, host and port) of the pages that need the API',
      };
    }
    const note = wild.length > 0 ? `; wildcards over https: ${wild.join(', ')} (every matching subdomain or port is trusted)` : '';
    return { severity: 'ok', finding: `${list.length} origin pattern(s) allowed, none over cleartext with a wildcard${note}`, fix: 'none needed' };
  },
};

/** Whether a trustedProxies entry can only match loopback peers. */
function isLoopbackEntry(entry: string): boolean {
  try {
    const [text, bits] = entry.includes('/') ? entry.split('/') : [entry, undefined];
    let addr = ipaddr.parse(text as string);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    const prefix = bits === undefined ? (addr.kind() === 'ipv4' ? 32 : 128) : Number(bits) - (addr.kind() === 'ipv4' && entry.includes(':') ? 96 : 0);
    return addr.range() === 'loopback' && prefix >= (addr.kind() === 'ipv4' ? 8 : 128);
  } catch {
    return false;
  }
}

const proxies: Check = {
  id: 'proxy.trusted',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    const trusted = g.config.trustedProxies;
    const { forwarded24h, lastForwardedAt } = g.activity;
    if (trusted.length === 0) {
      if (forwarded24h === 0) return { severity: 'ok', finding: 'no proxy is trusted and no forwarded header arrived in the last 24 h', fix: 'none needed' };
      return {
        severity: 'warn',
        finding: `${forwarded24h} request(s) in the last 24 h carried X-Forwarded-For or Forwarded, but no proxy is trusted: if a reverse proxy is in front, every client looks like it and one client's failures lock out all`,
        fix: 'if a reverse proxy forwards to moat, add its address with --trusted-proxy; if not, someone sends forged headers (they are ignored)',
      };
    }
    const unreachable = g.posture.bindClass === 'loopback' ? trusted.filter((e) => !isLoopbackEntry(e)) : [];
    if (unreachable.length > 0) {
      return {
        severity: 'warn',
        finding: `trustedProxies lists ${unreachable.join(', ')} on a loopback bind (${g.bind}): such peers can never connect, so the entries only widen who is believed later`,
        fix: 'keep only the local proxy (--trusted-proxy 127.0.0.1), or drop trustedProxies if none runs',
      };
    }
    // On loopback every local process (a browser's fetch too) reaches moat from a trusted address:
    // until the proxy has forwarded something, the trust is only a way to pose as any client.
    if (g.posture.bindClass === 'loopback' && (lastForwardedAt === null || ctx.now - lastForwardedAt >= DAY_MS)) {
      return {
        severity: 'warn',
        finding: `trustedProxies (${trusted.join(', ')}) is set on a loopback bind and no forwarded header arrived ${lastForwardedAt === null ? 'since boot' : 'for 24 h'}: any local process may set X-Forwarded-For and pose as any client`,
        fix: 'drop trustedProxies unless a reverse proxy on this host forwards to moat (this clears once it has forwarded a request)',
      };
    }
    const quietSince = Math.max(g.startedAt, lastForwardedAt ?? 0);
    if (ctx.now - quietSince >= DAY_MS) {
      return {
        severity: 'warn',
        finding: `trustedProxies (${trusted.join(', ')}) is set but no forwarded header arrived for 24 h: any process at those addresses may set X-Forwarded-For and pose as any client`,
        fix: 'drop trustedProxies if no reverse proxy forwards to moat any more',
      };
    }
    const local = g.posture.bindClass === 'loopback' ? ' (on loopback: local processes can also set it, the cost of a local proxy)' : '';
    return {
      severity: 'ok',
      finding: `X-Forwarded-For is believed from ${trusted.join(', ')}${lastForwardedAt === null ? '' : `, last forwarded ${new Date(lastForwardedAt).toISOString()}`}${local}`,
      fix: 'none needed',
    };
  },
};

const ntfy: Check = {
  id: 'ntfy.topic',
  needs: 'gateway',
  run(ctx): Result {
    const n = ctx.gateway!.config.notifications.ntfy;
    if (n === undefined) return { severity: 'ok', finding: 'no ntfy notifications configured', fix: 'none needed' };
    const problem = ntfyTopicProblem(n.topic);
    if (problem !== null)
      return {
        severity: 'fail',
        finding: `the ntfy topic ${problem}: anyone who guesses it reads the notifications`,
        fix: 'use a long random topic (openssl rand -hex 16)',
      };
    let url: URL | null = null;
    try {
      url = new URL(n.url);
    } catch {
      // the egress guard refuses it when sending
    }
    if (url !== null && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      return {
        severity: 'warn',
        finding: `ntfy is reached over plain http (${url.host}): the topic and every message cross the network in clear text`,
        fix: 'use an https:// ntfy URL',
      };
    }
    return { severity: 'ok', finding: `the ntfy topic is long and random (${n.topic.length} characters)`, fix: 'none needed' };
  },
};

const services: Check = {
  id: 'services.non-loopback',
  needs: 'gateway',
  run(ctx): Result {
    const wide = ctx.gateway!.services.filter((s) => {
      try {
        return !isLoopbackHost(new URL(s.baseUrl).hostname);
      } catch {
        return true;
      }
    });
    if (wide.length === 0) return { severity: 'ok', finding: `every service (${ctx.gateway!.services.length}) is on loopback`, fix: 'none needed' };
    return {
      severity: 'warn',
      finding: `service(s) outside loopback (allowNonLoopback): ${wide.map((s) => `${s.name} -> ${s.baseUrl}`).join(', ')}: tokens with their svc: scope reach that network`,
      fix: 'keep services on loopback where you can; otherwise make sure the network path to them is trusted',
    };
  },
};

const apiCommands: Check = {
  id: 'services.api-commands',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    const sup = g.config.supervisor;
    const targets =
      sup.apiTargets.length === 0
        ? 'no loopback target for tokens without admin'
        : `loopback targets for tokens with scope services: ${sup.apiTargets.join(', ')}`;
    if (!sup.allowApiCommands) return { severity: 'ok', finding: `the API registers url services only (${targets})`, fix: 'none needed' };
    const where = g.posture.bindClass === 'loopback' ? '' : `, from the network (${g.bind}; acknowledged with supervisor.acknowledgeRemoteCodeExecution)`;
    return {
      severity: 'warn',
      finding: `supervisor.allowApiCommands is on (from ${g.sources.get('supervisor.allowApiCommands') ?? 'default'}): any token with scope services can run any program as moat's user${where}`,
      fix: 'declare command services in the config file and turn allowApiCommands off (MOAT_SUPERVISOR_ALLOW_API_COMMANDS=0)',
    };
  },
};

const highRisk: Check = {
  id: 'tools.high-risk',
  needs: 'gateway',
  run(ctx): Result {
    const open = ctx.gateway!.highRiskOpen;
    if (open.length === 0) return { severity: 'ok', finding: 'high-risk tools (exec, fs.delete, mount.write) are closed over HTTP', fix: 'none needed' };
    return {
      severity: 'warn',
      finding: `tools.allow opens high-risk tools over HTTP: ${open.join(', ')}: any token with scope tools can use them`,
      fix: 'remove them from tools.allow (MOAT_TOOLS_ALLOW) unless an agent needs them',
    };
  },
};

const sandbox: Check = {
  id: 'tools.sandbox',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    const execOpen = g.highRiskOpen.includes('exec');
    const { available, reason } = g.sandbox;
    if (available) return { severity: 'ok', finding: `exec commands run in the bubblewrap sandbox${execOpen ? '' : ' (exec is closed)'}`, fix: 'none needed' };
    if (!execOpen) return { severity: 'ok', finding: `no exec sandbox (${reason}), but exec is closed`, fix: 'install bubblewrap (bwrap) before opening exec' };
    if (g.config.tools.exec.sandbox === 'required')
      return { severity: 'ok', finding: `exec is unavailable: the sandbox is required and ${reason}`, fix: 'install bubblewrap (bwrap) to use exec' };
    return {
      severity: 'fail',
      finding: `exec is open and runs commands without a sandbox (${reason}): they see the host as moat's user, including gateway-token`,
      fix: 'install bubblewrap (bwrap) and set tools.exec.sandbox=required, or remove exec from tools.allow',
    };
  },
};

const clientScope: Check = {
  id: 'workspaces.client-scope',
  needs: 'gateway',
  run(ctx): Result {
    const w = ctx.gateway!.config.workspaces;
    if (!w.allowClientScope) return { severity: 'ok', finding: 'each run has its own workspace under the data dir', fix: 'none needed' };
    return {
      severity: 'warn',
      finding: `workspaces.allowClientScope is on: clients with scope tools may open any directory under ${w.clientScopeBase ?? '(no base)'}`,
      fix: 'turn it off (MOAT_WORKSPACES_ALLOW_CLIENT_SCOPE=0) unless one local agent needs it',
    };
  },
};

const rateLimit: Check = {
  id: 'rate-limit',
  needs: 'gateway',
  run(ctx): Result {
    const r = ctx.gateway!.config.rateLimit;
    if (r.enabled) {
      return {
        severity: 'ok',
        finding: `rate limits on (per minute: pair ${r.pair.perMinute}, hooks ${r.hooks.perMinute}, jobs ${r.jobs.perMinute}, general ${r.general.perMinute})`,
        fix: 'none needed',
      };
    }
    return {
      severity: 'warn',
      finding: `rate limiting is OFF (rateLimit.enabled from ${ctx.gateway!.sources.get('rateLimit.enabled') ?? 'default'}): floods of requests and guesses are throttled only by the lockout`,
      fix: 'set rateLimit.enabled=true (MOAT_RATE_LIMIT=1), raising perMinute for a busy class instead',
    };
  },
};

export const policyChecks: Check[] = [origins, proxies, ntfy, services, apiCommands, highRisk, sandbox, clientScope, rateLimit];
