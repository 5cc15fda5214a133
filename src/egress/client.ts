/**
 * Egress: the only way out for requests to client-influenced URLs. request() checks the URL, sends
 * it through the purpose's checked agent, follows redirects itself (each hop checked again) and
 * caps size and time; every refusal is audited and logged. check() answers without sending.
 */
import type { Agent, Dispatcher } from 'undici';
import type { AuditSink } from '../audit/event.js';
import type { EgressConfig } from '../config/sections/egress.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { checkedAgent } from './dispatcher.js';
import { undici } from './undici.js';
import { flattenHeaders, outboundHeaders } from './headers.js';
import { Deadline, TooLarge, discard, readCapped, timeoutError, tooLargeError } from './limits.js';
import { compileEgressPolicy, type EgressPolicy, type PurposePolicy } from './policy.js';
import { isRedirect, nextHop, type Hop } from './redirects.js';
import { EgressRefusal, isRefusal } from './refusal.js';
import { resolveChecked, systemResolver } from './resolver.js';
import { EGRESS_PURPOSES, type EgressCheck, type EgressPurpose, type EgressRequest, type EgressResponse, type Resolver, type Verdict } from './types.js';
import { checkUrl, parseUrl, socketHost } from './url-policy.js';

export interface EgressOptions {
  /** The `egress` config section, read per request: return the same object until it changes. */
  config: () => EgressConfig;
  audit: AuditSink;
  log: Logger;
  resolver?: Resolver;
  now?: () => number;
}

interface State {
  policy: EgressPolicy;
  agents: Map<EgressPurpose, Agent>;
}

export class Egress {
  private state: State;
  private readonly resolver: Resolver;
  private readonly now: () => number;
  private stopped = false;
  /** Refusals and cut-offs by purpose and reason (bounded: both come from fixed lists), for metrics. */
  private readonly refused = new Map<string, { purpose: EgressPurpose; reason: string; count: number }>();

  /** Compiles the policy: a bad CIDR or host pattern throws config_invalid here, at boot. */
  constructor(private readonly opts: EgressOptions) {
    this.state = { policy: compileEgressPolicy(opts.config()), agents: new Map() };
    this.resolver = opts.resolver ?? systemResolver;
    this.now = opts.now ?? Date.now;
  }

  /** Recompiles from config() now (throws config_invalid and keeps the old policy on a bad one). */
  reconfigure(): void {
    this.swap(compileEgressPolicy(this.opts.config()));
  }

  /** Would `url` be allowed for `purpose` now, and why. Resolves the name; sends nothing. */
  async check(url: string, purpose: EgressPurpose): Promise<EgressCheck> {
    const policy = this.policyFor(purpose);
    const target = checkUrl(url, policy);
    if (!target.ok) return { allowed: false, reason: target.verdict.reason, addresses: target.addresses, rule: target.verdict.rule };
    const checked = await resolveChecked(socketHost(target.url), policy.address, this.resolver, policy.timeoutMs);
    return { allowed: checked.verdict.allowed, reason: checked.verdict.reason, addresses: checked.addresses, rule: checked.verdict.rule };
  }

  /**
   * A check before a URL is accepted for later use (a job's callbackUrl): its refusal counts as one
   * (audited as egress.blocked with purpose, host, addresses and reason, logged, counted), though
   * nothing is sent. The dry run (check) records nothing.
   */
  async screen(url: string, purpose: EgressPurpose, who: Pick<EgressRequest, 'actor' | 'requestId'> = {}): Promise<EgressCheck> {
    const verdict = await this.check(url, purpose);
    if (!verdict.allowed)
      this.refuse(
        new EgressRefusal({ allowed: false, reason: verdict.reason as Verdict['reason'], rule: verdict.rule }, parseUrl(url)?.host ?? null, verdict.addresses),
        { url, purpose, ...who },
      );
    return verdict;
  }

  /** Sends one request; throws egress_denied, egress_timeout, egress_too_large or egress_failed. */
  async request(req: EgressRequest): Promise<EgressResponse> {
    if (this.stopped) throw new GatewayError('egress_failed', 'the egress client is stopped', { extra: { reason: 'stopped', purpose: req.purpose } });
    const policy = this.policyFor(req.purpose);
    const agent = this.agentFor(req.purpose, policy);
    const started = this.now();
    const deadline = new Deadline(policy.timeoutMs);
    let hop: Hop = { url: req.url, method: (req.method ?? 'GET').toUpperCase(), headers: outboundHeaders(req.headers), body: req.body };
    let host: string | null = parseUrl(req.url)?.host ?? null;
    try {
      for (let redirects = 0; ; redirects++) {
        const target = checkUrl(hop.url, policy);
        host = target.url?.host ?? null;
        if (!target.ok) throw new EgressRefusal(target.verdict, host, target.addresses);
        const res = await undici().request(target.url, {
          dispatcher: agent,
          method: hop.method as Dispatcher.HttpMethod,
          headers: hop.headers,
          body: hop.body ?? null,
          signal: deadline.signal,
        });
        const location = res.headers['location'];
        if (!isRedirect(res.statusCode, typeof location === 'string' ? location : undefined)) {
          const body = await readCapped(res, policy.maxBytes);
          return { status: res.statusCode, headers: flattenHeaders(res.headers), body, url: target.url.href };
        }
        await discard(res);
        if (redirects >= policy.maxRedirects) {
          throw new EgressRefusal({ allowed: false, reason: 'too_many_redirects', rule: `maxRedirects ${policy.maxRedirects}` }, host, []);
        }
        const next = nextHop(hop, target.url, res.statusCode, location as string);
        if (!next) throw new EgressRefusal({ allowed: false, reason: 'unparseable', rule: 'redirect Location' }, host, []);
        hop = next;
      }
    } catch (err) {
      throw this.failure(err, req, host, deadline, policy, this.now() - started);
    } finally {
      deadline.clear();
    }
  }

  /** Requests refused or cut off since start, by purpose and reason (metrics read this at scrape time). */
  refusals(): Array<{ purpose: EgressPurpose; reason: string; count: number }> {
    return [...this.refused.values()].map((r) => ({ ...r }));
  }

  private countRefusal(purpose: EgressPurpose, reason: string): void {
    const key = `${purpose} ${reason}`;
    const r = this.refused.get(key);
    if (r) r.count++;
    else this.refused.set(key, { purpose, reason, count: 1 });
  }

  /** Closes every connection; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const agents = [...this.state.agents.values()];
    this.state.agents.clear();
    await Promise.all(agents.map((a) => a.destroy()));
  }

  private policyFor(purpose: EgressPurpose): PurposePolicy {
    if (!EGRESS_PURPOSES.includes(purpose)) throw new GatewayError('bad_request', `unknown egress purpose ${JSON.stringify(purpose)}`);
    const config = this.opts.config();
    if (config !== this.state.policy.source) this.swap(compileEgressPolicy(config));
    return this.state.policy.purposes[purpose];
  }

  /** A new policy gets new agents: a pooled connection never outlives the policy that checked it. */
  private swap(policy: EgressPolicy): void {
    const old = this.state.agents;
    this.state = { policy, agents: new Map() };
    for (const agent of old.values()) void agent.close().catch(() => undefined);
  }

  private agentFor(purpose: EgressPurpose, policy: PurposePolicy): Agent {
    let agent = this.state.agents.get(purpose);
    if (!agent) {
      agent = checkedAgent({ policy, resolver: this.resolver });
      this.state.agents.set(purpose, agent);
    }
    return agent;
  }

  /** Every way a request can end badly, as a GatewayError; refusals and cut-offs are audited. */
  private failure(err: unknown, req: EgressRequest, host: string | null, deadline: Deadline, policy: PurposePolicy, elapsedMs: number): GatewayError {
    const purpose = req.purpose;
    if (isRefusal(err)) return this.refuse(err, req);
    if (err instanceof TooLarge) return this.cutOff(tooLargeError(purpose, host, policy.maxBytes, `egress.purposes.${purpose}.maxBytes`), req, host, elapsedMs);
    if (deadline.timedOut) return this.cutOff(timeoutError(purpose, host, policy.timeoutMs, `egress.purposes.${purpose}.timeoutMs`), req, host, elapsedMs);
    if (isGatewayError(err)) return err;
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : 'error';
    this.opts.log.warn({ egress: { purpose, host, reason: why }, reqId: req.requestId }, `egress request failed: ${why}`);
    return new GatewayError('egress_failed', `the request to ${host ?? 'upstream'} failed (${why})`, { extra: { reason: why, purpose }, cause: err });
  }

  private refuse(r: EgressRefusal, req: EgressRequest): GatewayError {
    const detail = { purpose: req.purpose, host: r.host, addresses: [...r.addresses], reason: r.verdict.reason, rule: r.verdict.rule };
    this.countRefusal(req.purpose, r.verdict.reason);
    this.opts.audit.record({ type: 'egress.blocked', outcome: 'blocked', actor: req.actor, requestId: req.requestId, detail });
    this.opts.log.warn({ egress: detail, reqId: req.requestId }, `egress refused: ${r.verdict.reason}`);
    return new GatewayError('egress_denied', `outbound ${req.purpose} request to ${r.host ?? 'an unparseable URL'} refused: ${r.verdict.reason}`, {
      extra: { reason: r.verdict.reason, purpose: req.purpose },
    });
  }

  private cutOff(err: GatewayError, req: EgressRequest, host: string | null, elapsedMs: number): GatewayError {
    const detail = { purpose: req.purpose, host, reason: err.extra?.['reason'] as string, elapsedMs };
    this.countRefusal(req.purpose, detail.reason);
    this.opts.audit.record({ type: 'egress.limit', outcome: 'blocked', actor: req.actor, requestId: req.requestId, detail });
    this.opts.log.warn({ egress: detail, reqId: req.requestId }, `egress cut off: ${detail.reason}`);
    return err;
  }
}
