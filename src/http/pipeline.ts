/**
 * The guard order as one list, run with each route's policy (route-policy.ts): framing -> drain -> host -> CSRF (the
 * console's session cookie) -> origin/CORS -> client address -> rate limit -> lockout ->
 * authenticate -> authorize -> in-flight budgets -> audit capacity. (A request is charged to the
 * in-flight budgets once its token or route class is known, so that admin tokens can use their
 * reserve; the listener counts it from its arrival.)
 * Bodies are limited and validated by Fastify after this. Also owns what happens on a refusal
 * (log with client and reason, lockout counting and audit, per refusal-tables.ts), the security headers of every response
 * and the audit record of every write.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AuditSink } from '../audit/event.js';
import { pickHeaders } from '../audit/event.js';
import { GatewayError } from '../errors.js';
import type { DoorCounters } from '../observe/counters.js';
import type { Logger } from '../observe/logger.js';
import { clientRequestId } from '../observe/request-id.js';
import { RES_SLOT, type ObservedResponse } from '../observe/request-metrics.js';
import type { BearerRequest, authenticate } from '../security/authenticate.js';
import type { authorize } from '../security/authorize.js';
import type { AddressedRequest, clientIp } from '../security/client-ip.js';
import type { CsrfRequest, csrfGuard } from '../security/csrf.js';
import type { FramingRequest, framingGuard } from '../security/framing-guard.js';
import type { HostRequest, hostGuard } from '../security/host-guard.js';
import type { InflightLimit } from '../security/inflight-limit.js';
import type { Lockout } from '../security/lockout.js';
import type { CorsReply, OriginRequest, originGuard } from '../security/origin-guard.js';
import type { GuardState, RateClass } from '../security/guard-state.js';
import type { rateLimit } from '../security/rate-limit.js';
import { CONSOLE_HEADER_NAMES, CONSOLE_HEADERS } from './console-headers.js';
import { DENIAL_EVENTS, LOCKOUT_KIND } from './refusal-tables.js';
import { isWrite, type RoutePolicy } from './route-policy.js';

export interface Guards {
  framing: ReturnType<typeof framingGuard>;
  inflight: InflightLimit;
  host: ReturnType<typeof hostGuard>;
  origin: ReturnType<typeof originGuard>;
  clientIp: ReturnType<typeof clientIp>;
  rateLimit: ReturnType<typeof rateLimit>;
  lockout: Lockout;
  authenticate: ReturnType<typeof authenticate>;
  authorize: ReturnType<typeof authorize>;
  csrf: ReturnType<typeof csrfGuard>;
}

/** The raw message, as each guard reads it: Node's IncomingMessage (Fastify's request.raw, or an upgrade's request). */
export type GuardedMessage = FramingRequest & HostRequest & AddressedRequest & BearerRequest & OriginRequest & CsrfRequest;

/**
 * What the pipeline reads and writes of a request. Fastify's request satisfies it as it is (no
 * allocation on the request path); an upgrade (ws.ts) makes one over its raw message.
 */
export interface GuardedRequest {
  readonly id: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly params: unknown;
  readonly raw: GuardedMessage;
  readonly routeOptions: { readonly url?: string | undefined; readonly config?: unknown };
  /** Set by run(); null before (a request refused before routing). */
  moat: GuardState | null;
}

/** What the pipeline writes of a response: headers (and a preflight's whole answer). Fastify's reply as it is. */
export type GuardedReply = CorsReply;

export interface PipelineOptions {
  guards: Guards;
  tls: boolean;
  audit: AuditSink;
  log: Logger;
  isDraining(): boolean;
  /** Refusals, lockouts and forwarded headers, for metrics, doctor and the heartbeat. */
  counters: DoorCounters;
  now?: () => number;
}

/** The raw response, which carries what the request holds of the in-flight budgets. */
type HeldRaw = Parameters<InflightLimit['leave']>[0];
/** The request a write response belongs to, for its audit record when the response closes. */
const WRITE_REQUEST = Symbol('moat.writeRequest');
type WriteResponse = ServerResponse & { [WRITE_REQUEST]?: FastifyRequest | undefined };

/** The rate class of the route a request matched (general when none). */
function rateClassOf(req: GuardedRequest): RateClass {
  return (req.routeOptions.config as { rateClass?: RateClass } | undefined)?.rateClass ?? 'general';
}

export function createPipeline(opts: PipelineOptions) {
  const g = opts.guards;
  const counters = opts.counters;
  const now = opts.now ?? Date.now;
  // Refusal floods: repeated refusals are counted into one entry per client and window (src/audit/refusals.ts).
  const refused = opts.audit.refused ? opts.audit.refused.bind(opts.audit) : opts.audit.record.bind(opts.audit);
  // The security headers of every response (MIME sniffing, Referer leaks, cached secrets,
  // clickjacking; HSTS over TLS): set here, and copied by the raw-socket refusals (client-error.ts, ws.ts).
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  };
  if (opts.tls) headers['strict-transport-security'] = 'max-age=31536000';
  Object.freeze(headers);
  const headerNames = Object.keys(headers);

  function setBaseHeaders(req: GuardedRequest, reply: GuardedReply): void {
    for (const name of headerNames) reply.header(name, headers[name] as string);
    reply.header('x-request-id', req.id);
  }

  function setConsoleHeaders(reply: GuardedReply): void {
    for (const name of CONSOLE_HEADER_NAMES) reply.header(name, CONSOLE_HEADERS[name] as string);
  }

  /**
   * Runs the guards for one request under `policy`. Throws the refusal; returns true when a guard
   * answered the request itself (a CORS preflight).
   */
  function run(policy: RoutePolicy, req: FastifyRequest, reply: FastifyReply): boolean {
    if (policy.slot >= 0) {
      const by = policy.slotByMethod;
      (reply.raw as unknown as ObservedResponse)[RES_SLOT] = by === null ? policy.slot : (by[req.method] ?? policy.slot);
    }
    if (policy.write) {
      // Audited when the response closes, finished or not: a client that hangs up does not escape it.
      const res = reply.raw as WriteResponse;
      res[WRITE_REQUEST] = req;
      res.on('close', onWriteClosed);
    }
    return guard(policy, req, reply, reply.raw as HeldRaw);
  }

  /**
   * Runs the guards for an upgrade (ws.ts) under `policy`: the same list; no in-flight budget (an
   * upgrade takes a stream slot once through). Throws the refusal; returns the request's state.
   */
  function runUpgrade(policy: RoutePolicy, req: GuardedRequest, reply: GuardedReply): GuardState {
    guard(policy, req, reply, null);
    return req.moat as GuardState;
  }

  /** The guard order, for requests and upgrades alike. `held`: what carries the in-flight budgets (null: none). */
  function guard(policy: RoutePolicy, req: GuardedRequest, reply: GuardedReply, held: HeldRaw | null): boolean {
    const t = now();
    setBaseHeaders(req, reply);
    if (policy.console) setConsoleHeaders(reply);
    const state: GuardState = { client: '', principal: null, scope: null, audited: false };
    req.moat = state;
    const raw = req.raw;
    // First: a request whose body cannot be framed is refused before anything reads it (smuggling).
    g.framing(raw);
    if (!policy.drainExempt && opts.isDraining()) {
      throw new GatewayError('draining', 'the gateway is shutting down; retry on another instance or later', {
        headers: raw.httpVersionMajor === 1 ? { connection: 'close', 'retry-after': '5' } : { 'retry-after': '5' },
      });
    }
    g.host(raw);
    // Cross-site request forgery with the console's cookie (another site, or another port of this
    // host): a request the cookie would authenticate (no bearer token) must come from the console's
    // own pages. Judged before the Origin allowlist: no listed origin may use the cookie either.
    const byCookie = policy.cookie && raw.headers.authorization === undefined && g.csrf.hasCookie(raw);
    if (byCookie) g.csrf(raw, policy.write);
    else if (policy.signin) g.csrf.signin(raw);
    if (policy.auth === 'link') g.origin.forLink(req);
    else if (g.origin(req, reply)) return true;
    state.client = g.clientIp(raw);
    // Remembered for doctor (a proxy forwarding while none is trusted); costs nothing without the header.
    if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) counters.forwardedHeader(t);
    g.rateLimit(policy.rateClass, state.client, t);
    if (policy.auth === 'bearer') {
      const credentialed = req.headers.authorization !== undefined;
      if (credentialed) g.lockout(state.client, t, 'token');
      const principal = g.authenticate(raw, t, byCookie);
      state.principal = principal;
      state.scope = g.authorize(req, principal, policy.scope);
      if (credentialed) g.lockout.succeed(state.client, 'token');
      if (policy.budget === 'principal' && held !== null) g.inflight.admitPrincipal(held, principal, state.client);
    } else {
      // The console's sign-in codes are pairing codes: one counter with POST /api/v1/pair.
      if (policy.signin || (policy.auth === 'pairing' && req.headers['x-pairing-code'] !== undefined)) g.lockout(state.client, t, 'pairing');
      if (policy.budget !== 'none' && held !== null) g.inflight.admitAnonymous(held, state.client, policy.budget === 'unauthenticated');
    }
    if (policy.write && !opts.audit.hasCapacity()) {
      throw new GatewayError('audit_backlog', 'the audit log is behind; writes are refused until it catches up', { headers: { 'retry-after': '1' } });
    }
    return false;
  }

  /** The route's onRequest hook (callback style: no promise where nothing waits). */
  function forRoute(policy: RoutePolicy) {
    return function guardPipeline(req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
      let answered: boolean;
      try {
        answered = run(policy, req, reply);
      } catch (err) {
        done(err as Error);
        return;
      }
      if (!answered) done();
    };
  }

  /** Every refusal and failure: log it, count it towards lockout, audit it. */
  function onProblem(req: GuardedRequest, reply: GuardedReply, err: GatewayError, original: unknown): void {
    let state = req.moat;
    const fresh = !state;
    if (!state) {
      // Refused before routing (a malformed URL): the guards never ran, so set what they would have.
      state = { client: '', principal: null, scope: null, audited: false };
      req.moat = state;
      setBaseHeaders(req, reply);
    }
    if (state.client === '') state.client = g.clientIp(req.raw);
    const route = req.routeOptions.url ?? null;
    const t = now();
    counters.problem(err.code, err.code === 'rate_limited' ? rateClassOf(req) : '', t);
    const denial = DENIAL_EVENTS[err.code];
    if (denial === undefined) {
      if (err.code === 'internal') opts.log.error({ reqId: req.id, err: original, method: req.method, route }, 'request failed');
      else if (err.status >= 500) opts.log.warn({ reqId: req.id, code: err.code, client: state.client, route }, err.detail);
      // Refused before any route matched (a malformed URL): no close hook will see this write.
      if (fresh && isWrite(req.method)) recordWrite(req, state, err.status, false);
      return;
    }
    state.audited = true;
    let lockedForMs = 0;
    const kind = LOCKOUT_KIND[err.code];
    if (kind !== undefined) lockedForMs = g.lockout.fail(state.client, t, kind);
    const clientId = clientRequestId(req.headers['x-request-id']);
    opts.log.warn({ reqId: req.id, clientRequestId: clientId, client: state.client, method: req.method, route, code: err.code }, `refused: ${err.detail}`);
    const base = {
      outcome: 'denied' as const,
      actor: state.principal ? { id: state.principal.id, name: state.principal.name } : undefined,
      client: state.client,
      requestId: req.id,
      clientRequestId: clientId,
      method: req.method,
      route: route ?? undefined,
      status: err.status,
      code: err.code,
      headers: pickHeaders(req.headers),
    };
    refused({ type: denial, ...base, detail: { reason: err.detail } });
    if (lockedForMs > 0) {
      counters.lockout(t);
      refused({ type: 'auth.lockout', ...base, detail: { lockedForMs, kind } });
      opts.log.warn({ client: state.client, lockedForMs }, 'client locked out after repeated failures');
    }
  }

  /**
   * A request Node refused while reading it (client-error.ts): there is no route, method or header
   * to name, only the peer address. Logged and counted like any refusal; audited when its code is a
   * denial (431, 408), like the guard refusals.
   */
  function onUnreadable(err: GatewayError, id: string, client: string): void {
    const t = now();
    counters.problem(err.code, '', t);
    opts.log.warn({ reqId: id, client, code: err.code }, `refused: ${err.detail}`);
    const denial = DENIAL_EVENTS[err.code];
    if (denial === undefined) return;
    refused({ type: denial, outcome: 'denied', client, requestId: id, status: err.status, code: err.code, detail: { reason: err.detail } });
  }

  /** A write's audit entry and its log line, which carry the same request id (reads are neither). */
  function recordWrite(req: GuardedRequest, state: GuardState, status: number | undefined, aborted: boolean): void {
    state.audited = true;
    const clientId = clientRequestId(req.headers['x-request-id']);
    opts.log.info(
      {
        reqId: req.id,
        clientRequestId: clientId,
        client: state.client,
        actor: state.principal?.id,
        method: req.method,
        route: req.routeOptions.url,
        status,
        aborted: aborted || undefined,
      },
      'write',
    );
    opts.audit.record({
      type: 'http.write',
      outcome: status !== undefined && status < 400 && !aborted ? 'ok' : 'error',
      actor: state.principal ? { id: state.principal.id, name: state.principal.name } : undefined,
      client: state.client,
      requestId: req.id,
      clientRequestId: clientId,
      method: req.method,
      route: req.routeOptions.url ?? undefined,
      status,
      scope: state.scope ?? undefined,
      headers: pickHeaders(req.headers),
      detail: aborted ? { aborted: 'the connection closed before the response was complete' } : undefined,
    });
  }

  /** 'close' of a write route's response: every write that was not refused is audited with its outcome. */
  function onWriteClosed(this: WriteResponse): void {
    const req = this[WRITE_REQUEST];
    this[WRITE_REQUEST] = undefined;
    const state = req?.moat;
    if (!req || !state || state.audited) return;
    if (state.client === '') state.client = g.clientIp(req.raw);
    const finished = this.writableEnded;
    recordWrite(req, state, finished || this.headersSent ? this.statusCode : undefined, !finished);
    // A code redeemed is a success: the client's pairing failures start over (its token failures do not).
    if (finished && this.statusCode === 201 && req.routeOptions.config?.auth === 'pairing') g.lockout.succeed(state.client, 'pairing');
  }

  /** A write to a route that does not exist (after the guards let it through): audited as a 404. */
  function auditUnknownWrite(req: FastifyRequest): void {
    const state = req.moat as GuardState | null;
    if (state && !state.audited && isWrite(req.method)) recordWrite(req, state, 404, false);
  }

  /**
   * A stream slot for a long-lived stream (WebSocket) of the request the guards let through: the
   * global cap, and the token's and address's shares. Throws too_many_streams or concurrency_limited.
   */
  function openStream(state: GuardState): () => void {
    return g.inflight.openStream(state.principal, state.client);
  }

  return { run, runUpgrade, forRoute, onProblem, onUnreadable, auditUnknownWrite, openStream, baseHeaders: headers as Readonly<Record<string, string>> };
}

export type Pipeline = ReturnType<typeof createPipeline>;
