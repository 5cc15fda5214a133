/**
 * In-flight budgets (resource exhaustion): requests being handled and event streams open, capped
 * globally, per token and per client address, with a share of each global cap only admin tokens may
 * use, and a smaller budget of their own for the unauthenticated routes (hooks, pairing, action
 * links). Past a share a request is refused (429 concurrency_limited, 503 overloaded or
 * too_many_streams, with Retry-After) instead of queueing without bound. What a request holds is
 * written on its response (no allocation per request) and released once, by leave(); the listener
 * (http/server.ts) calls it on the first of response close, socket close and session close.
 */
import { GatewayError } from '../errors.js';
import { clientKey } from './limiter-store.js';
import type { Principal } from '../crypto/principal.js';

export interface InflightLimitOptions {
  /** Requests handled at once, all classes together (admin tokens may use all of it). */
  maxInflight: number;
  /** Of maxInflight, how many only admin tokens may use. */
  adminReservedInflight: number;
  /** Requests one (non-admin) token may have in flight. */
  maxInflightPerToken: number;
  /** Requests one client address (IPv6: its /64) may have in flight, admin tokens excepted. */
  maxInflightPerClient: number;
  /** Requests to the unauthenticated routes (hooks, pairing, action links), all clients together. */
  maxInflightUnauthenticated: number;
  /** Event streams (SSE, WebSocket) open at once. */
  maxStreams: number;
  /** Of maxStreams, how many only admin tokens may use. */
  adminReservedStreams: number;
  maxStreamsPerToken: number;
  maxStreamsPerClient: number;
}

/** On a response: what it holds (bit flags below), and under which token and client key. */
export const HELD = Symbol('moat.inflight.held');
export const HELD_TOKEN = Symbol('moat.inflight.token');
export const HELD_CLIENT = Symbol('moat.inflight.client');

export interface HeldResponse {
  [HELD]?: number;
  [HELD_TOKEN]?: string | null;
  [HELD_CLIENT]?: string | null;
}

/** Counted by the listener (every request, health included: the drain waits for these). */
const ENTERED = 1;
/** Charged to the global budget, and to one class. */
const ADMIN = 2;
const TOKEN = 4;
const UNAUTH = 8;
const ANON = 16;
const CHARGED = ADMIN | TOKEN | UNAUTH | ANON;
/** Charged to HELD_CLIENT's share. */
const CLIENT = 32;

/** Which budget a route's requests are charged to (http/pipeline.ts derives it from the route's auth). */
export type Budget = 'none' | 'principal' | 'unauthenticated' | 'anonymous';

/** Use per class, for /metrics. */
export interface InflightUsage {
  requests: { total: number; admin: number; token: number; unauthenticated: number; anonymous: number; topToken: number; topClient: number };
  streams: { total: number; admin: number; token: number; topToken: number; topClient: number };
  limits: InflightLimitOptions;
}

/** The `limits` config keys of the budgets; the shares left unset follow their caps. */
export type InflightLimitConfig = Pick<InflightLimitOptions, 'maxInflight' | 'maxStreams'> & Partial<InflightLimitOptions>;

const part = (total: number, divisor: number) => Math.max(1, Math.floor(total / divisor));
/** An eighth of a cap for the admin reserve, at least 1 (none when the cap is 1). */
const reserve = (total: number) => (total > 1 ? Math.min(total - 1, part(total, 8)) : 0);

/**
 * The budgets' options from the `limits` config section. A share left unset is a fraction of its
 * cap (reserve an eighth, a token a quarter, an address a half, the unauthenticated routes a
 * quarter), never more than what is left after the reserve, so that one knob sizes them all.
 */
export function inflightOptions(l: InflightLimitConfig): InflightLimitOptions {
  const adminReservedInflight = l.adminReservedInflight ?? reserve(l.maxInflight);
  const shared = Math.max(1, l.maxInflight - adminReservedInflight);
  const adminReservedStreams = l.adminReservedStreams ?? reserve(l.maxStreams);
  const sharedStreams = Math.max(1, l.maxStreams - adminReservedStreams);
  return {
    maxInflight: l.maxInflight,
    adminReservedInflight,
    maxInflightPerToken: l.maxInflightPerToken ?? Math.min(shared, part(l.maxInflight, 4)),
    maxInflightPerClient: l.maxInflightPerClient ?? Math.min(shared, part(l.maxInflight, 2)),
    maxInflightUnauthenticated: l.maxInflightUnauthenticated ?? Math.min(shared, part(l.maxInflight, 4)),
    maxStreams: l.maxStreams,
    adminReservedStreams,
    maxStreamsPerToken: l.maxStreamsPerToken ?? Math.min(sharedStreams, part(l.maxStreams, 4)),
    maxStreamsPerClient: l.maxStreamsPerClient ?? Math.min(sharedStreams, part(l.maxStreams, 2)),
  };
}

function check(o: InflightLimitOptions): InflightLimitOptions {
  const refuse = (detail: string): never => {
    throw new GatewayError('config_invalid', detail);
  };
  if (o.adminReservedInflight >= o.maxInflight)
    refuse(`limits.adminReservedInflight (${o.adminReservedInflight}) must be below limits.maxInflight (${o.maxInflight}), or nobody but admin gets in`);
  if (o.adminReservedStreams >= o.maxStreams)
    refuse(`limits.adminReservedStreams (${o.adminReservedStreams}) must be below limits.maxStreams (${o.maxStreams})`);
  const shared = o.maxInflight - o.adminReservedInflight;
  for (const key of ['maxInflightPerToken', 'maxInflightPerClient', 'maxInflightUnauthenticated'] as const) {
    if (o[key] > shared) refuse(`limits.${key} (${o[key]}) must not exceed limits.maxInflight - limits.adminReservedInflight (${shared})`);
  }
  const sharedStreams = o.maxStreams - o.adminReservedStreams;
  for (const key of ['maxStreamsPerToken', 'maxStreamsPerClient'] as const) {
    if (o[key] > sharedStreams) refuse(`limits.${key} (${o[key]}) must not exceed limits.maxStreams - limits.adminReservedStreams (${sharedStreams})`);
  }
  return { ...o };
}

function up(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
function down(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
function top(map: Map<string, number>): number {
  let max = 0;
  for (const n of map.values()) if (n > max) max = n;
  return max;
}

const RETRY_SOON = { 'retry-after': '1' };
const RETRY_STREAMS = { 'retry-after': '5' };

export function inflightLimit(initial: InflightLimitOptions) {
  let o = check(initial);
  let shared = o.maxInflight - o.adminReservedInflight;
  let sharedStreams = o.maxStreams - o.adminReservedStreams;
  /** Every request the listener counted and has not released (health and refusals included). */
  let total = 0;
  /** Requests charged to the global budget, and per class. */
  let charged = 0;
  let admin = 0;
  let token = 0;
  let unauth = 0;
  let anon = 0;
  const byToken = new Map<string, number>();
  const byClient = new Map<string, number>();
  let streams = 0;
  let adminStreams = 0;
  const streamsByToken = new Map<string, number>();
  const streamsByClient = new Map<string, number>();

  function overloaded(detail: string): never {
    throw new GatewayError('overloaded', detail, { headers: RETRY_SOON });
  }
  function share(detail: string, retry = RETRY_SOON): never {
    throw new GatewayError('concurrency_limited', detail, { headers: retry });
  }

  /** Charges `res` to `client`'s share, refusing when it is used up. */
  function chargeClient(res: HeldResponse, key: string): void {
    if ((byClient.get(key) ?? 0) >= o.maxInflightPerClient)
      share(`more than ${o.maxInflightPerClient} requests in flight from this address (limits.maxInflightPerClient)`);
    up(byClient, key);
    res[HELD_CLIENT] = key;
    res[HELD] = (res[HELD] as number) | CLIENT;
  }

  /** Releases what `res` holds in the budgets (not the listener's count). */
  function releaseCharges(res: HeldResponse, held: number): void {
    if (held & CHARGED) {
      charged--;
      if (held & ADMIN) admin--;
      else if (held & TOKEN) {
        token--;
        down(byToken, res[HELD_TOKEN] as string);
      } else if (held & UNAUTH) unauth--;
      else anon--;
    }
    if (held & CLIENT) down(byClient, res[HELD_CLIENT] as string);
  }

  const limit = {
    /** The listener counts a request as it arrives. */
    enter(res: HeldResponse): void {
      total++;
      res[HELD] = ENTERED;
    },
    /** Releases everything `res` holds; any later call is a no-op (exactly once, HABITS 21). */
    leave(res: HeldResponse): void {
      const held = res[HELD] ?? 0;
      if (held === 0) return;
      res[HELD] = 0;
      if (held & ENTERED) total--;
      releaseCharges(res, held);
    },
    /**
     * Charges an authenticated request. An admin token may use the whole of maxInflight; any other
     * token is held to the shared part, to its own share and to its address's share, so that one
     * token or address cannot take the gateway from everyone else (HABITS 22).
     */
    admitPrincipal(res: HeldResponse, principal: Principal, client: string): void {
      if (principal.scopes.has('admin')) {
        if (charged >= o.maxInflight) overloaded(`more than ${o.maxInflight} requests in flight`);
        charged++;
        admin++;
        res[HELD] = (res[HELD] ?? 0) | ADMIN;
        return;
      }
      if (charged >= shared) overloaded(`more than ${shared} requests in flight (the rest of limits.maxInflight is kept for admin)`);
      const id = principal.id;
      if ((byToken.get(id) ?? 0) >= o.maxInflightPerToken)
        share(`more than ${o.maxInflightPerToken} requests in flight with this token (limits.maxInflightPerToken)`);
      chargeClient(res, clientKey(client));
      up(byToken, id);
      charged++;
      token++;
      res[HELD_TOKEN] = id;
      res[HELD] = (res[HELD] as number) | TOKEN;
    },
    /**
     * Charges a request to a route without a bearer token: the unauthenticated routes (their own,
     * smaller budget: a flood of slow deliveries leaves the API alone), or progress posted with a
     * job's own token (`anonymous`). Both are held to the shared part and the address's share.
     */
    admitAnonymous(res: HeldResponse, client: string, unauthenticated: boolean): void {
      if (charged >= shared) overloaded(`more than ${shared} requests in flight (the rest of limits.maxInflight is kept for admin)`);
      if (unauthenticated && unauth >= o.maxInflightUnauthenticated) {
        overloaded(`more than ${o.maxInflightUnauthenticated} requests in flight to unauthenticated routes (limits.maxInflightUnauthenticated)`);
      }
      chargeClient(res, clientKey(client));
      charged++;
      if (unauthenticated) {
        unauth++;
        res[HELD] = (res[HELD] as number) | UNAUTH;
      } else {
        anon++;
        res[HELD] = (res[HELD] as number) | ANON;
      }
    },
    /**
     * Opens a stream slot for `principal` from `client`; throws too_many_streams (global) or
     * concurrency_limited (its share). Given the response of a request that becomes an event stream,
     * that request is released from the request budgets (it is counted as a stream from now on).
     * Returns the release (idempotent).
     */
    openStream(principal: Principal | null, client: string, res?: HeldResponse): () => void {
      const isAdmin = principal === null || principal.scopes.has('admin');
      const id = principal?.id ?? '';
      const key = clientKey(client);
      if (isAdmin) {
        if (streams >= o.maxStreams) throw new GatewayError('too_many_streams', `more than ${o.maxStreams} event streams open`, { headers: RETRY_STREAMS });
      } else {
        if (streams >= sharedStreams)
          throw new GatewayError('too_many_streams', `more than ${sharedStreams} event streams open (the rest of limits.maxStreams is kept for admin)`, {
            headers: RETRY_STREAMS,
          });
        if ((streamsByToken.get(id) ?? 0) >= o.maxStreamsPerToken)
          share(`more than ${o.maxStreamsPerToken} event streams open with this token (limits.maxStreamsPerToken)`, RETRY_STREAMS);
        if ((streamsByClient.get(key) ?? 0) >= o.maxStreamsPerClient)
          share(`more than ${o.maxStreamsPerClient} event streams open from this address (limits.maxStreamsPerClient)`, RETRY_STREAMS);
        up(streamsByToken, id);
        up(streamsByClient, key);
      }
      streams++;
      if (isAdmin) adminStreams++;
      if (res !== undefined) limit.leave(res);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        streams--;
        if (isAdmin) adminStreams--;
        else {
          down(streamsByToken, id);
          down(streamsByClient, key);
        }
      };
    },
    /** Requests in flight now (the listener's count; the drain waits for it to reach 0). */
    inflightCount(): number {
      return total;
    },
    /** Requests charged to a budget (admitted by the guards) and not yet released. */
    admittedCount(): number {
      return charged;
    },
    streamCount(): number {
      return streams;
    },
    usage(): InflightUsage {
      return {
        requests: { total, admin, token, unauthenticated: unauth, anonymous: anon, topToken: top(byToken), topClient: top(byClient) },
        streams: { total: streams, admin: adminStreams, token: streams - adminStreams, topToken: top(streamsByToken), topClient: top(streamsByClient) },
        limits: { ...o },
      };
    },
    reconfigure(next: InflightLimitOptions): void {
      o = check(next);
      shared = o.maxInflight - o.adminReservedInflight;
      sharedStreams = o.maxStreams - o.adminReservedStreams;
    },
  };
  return limit;
}

export type InflightLimit = ReturnType<typeof inflightLimit>;
