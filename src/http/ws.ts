/**
 * HTTP/1.1 upgrades (WebSocket) pass the same guards as every request: the pipeline's run() with
 * the route's policy (host, origin, client address, rate limit, lockout, bearer token, scope), then
 * the open-streams cap, then the handler: the service proxy (/svc/<name>/, scope svc:<name>) or
 * live events (/api/v1/ws). A refusal is a problem document on the raw socket, before any upgrade,
 * logged, counted and audited like any other. Other upgrades (an `Upgrade: h2c` from curl, say)
 * are served as ordinary requests. The events socket takes its token from Authorization or from
 * Sec-WebSocket-Protocol (`moat.bearer.<token>`), never from the query string (URLs end up in logs).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { requestId } from '../observe/request-id.js';
import {
  EVENTS_WS_CONFIG,
  EVENTS_WS_URL,
  PROXY_ROUTE_CONFIG,
  PROXY_URL,
  WS_BEARER_PREFIX,
  type EventsUpgradeContext,
  type UpgradeContext,
} from '../routes/index.js';
import type { GuardedReply, GuardedRequest, Pipeline } from './pipeline.js';
import { routePolicy } from './route-policy.js';
import { rawProblemResponse, toGatewayError } from './problem.js';
import type { GuardState } from '../security/guard-state.js';
import type { NodeServer } from './server.js';

export interface UpgradeOptions {
  pipeline: Pipeline;
  log: Logger;
  /** Takes a stream slot for the guarded request (throws too_many_streams, concurrency_limited); returns its release. */
  openStream(state: GuardState): () => void;
  proxy(ctx: UpgradeContext): Promise<void>;
  events(ctx: EventsUpgradeContext): Promise<void>;
}

/** Query parameters that look like a credential: refused outright, never read. */
const QUERY_TOKEN = /[?&](token|access_token|auth|authorization|bearer)=/i;

const SVC = /^\/svc\/([^/?]+)/;

/**
 * An upgrade as the pipeline reads it: its raw message, a request id, the route it matched; and the
 * headers the guards set, kept for the problem document if it is refused (nothing else is sent
 * before the upgrade).
 */
function guarded(req: http.IncomingMessage, name: string, routeUrl: string): { request: GuardedRequest; reply: GuardedReply; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const request: GuardedRequest = {
    id: requestId(),
    method: req.method ?? 'GET',
    headers: req.headers,
    params: { name },
    raw: req,
    routeOptions: { url: routeUrl },
    moat: null,
  };
  const reply: GuardedReply = {
    header(k: string, v: string) {
      headers[k] = v;
    },
    code() {},
    send() {},
  };
  return { request, reply, headers };
}

/**
 * How long a refused upgrade's socket stays half-closed for the client to read the answer and hang
 * up. The server's timeouts no longer watch a socket handed to 'upgrade': without this bound a
 * client that never closes its side would hold the descriptor for ever.
 */
const UNREAD_ANSWER_MS = 5_000;

/**
 * Closes an upgrade socket for good once `answer` is written: what the client still sends is read
 * and dropped (unread bytes would turn the close into a reset that can eat the answer), its own end
 * closes the socket at once, and a client that never hangs up is cut off after UNREAD_ANSWER_MS.
 */
function closeAfter(socket: Duplex, answer?: Buffer | string): void {
  const timer = setTimeout(() => socket.destroy(), UNREAD_ANSWER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.resume();
  socket.end(answer);
}

/** Writes a problem document to a socket that has not been answered yet, then closes it. */
function writeProblem(socket: Duplex, err: GatewayError, id: string, headers: Record<string, string>): void {
  if (socket.destroyed || !socket.writable) return void socket.destroy();
  closeAfter(socket, rawProblemResponse(err, id, headers));
}

/**
 * Hands an upgrade request that is not ours back to the ordinary request handler (the Upgrade is
 * ignored). The socket no longer belongs to the HTTP server, so nothing else notices the client
 * leaving: its end (a half-close) destroys the socket, which closes the response and releases the
 * request's slots and whatever it holds upstream; the answer written, the socket closes for good.
 */
function serveAsRequest(server: NodeServer, req: http.IncomingMessage, socket: Duplex): void {
  const res = new http.ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as import('node:net').Socket);
  socket.once('end', () => socket.destroy());
  socket.resume();
  res.once('finish', () => {
    res.detachSocket(socket as import('node:net').Socket);
    closeAfter(socket);
  });
  server.emit('request', req, res);
}

export function attachUpgrades(server: NodeServer, opts: UpgradeOptions): void {
  // An upgrade is not a request in flight: it takes a stream slot once the guards let it through.
  const policy = { ...routePolicy({ method: 'GET', url: PROXY_URL, config: PROXY_ROUTE_CONFIG }), budget: 'none' as const };
  // Never the session cookie on an upgrade (cross-site WebSocket hijacking): the console reads
  // events with EventSource; a WebSocket brings its token.
  const eventsPolicy = { ...routePolicy({ method: 'GET', url: EVENTS_WS_URL, config: EVENTS_WS_CONFIG as never }), budget: 'none' as const, cookie: false };

  /** GET /api/v1/ws: live events over a WebSocket. */
  function onEventsUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // The token may come in the subprotocol list (browsers cannot set Authorization on a WebSocket).
    if (req.headers.authorization === undefined) {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      const carried = offered.find((p) => p.startsWith(WS_BEARER_PREFIX));
      if (carried) req.headers.authorization = `Bearer ${carried.slice(WS_BEARER_PREFIX.length)}`;
    }
    const { request, reply, headers } = guarded(req, '', EVENTS_WS_URL);
    let release: (() => void) | null = null;
    let state: GuardState;
    const refuse = (error: unknown) => {
      release?.();
      const err = toGatewayError(error);
      opts.pipeline.onProblem(request, reply, err, error);
      writeProblem(socket, err, request.id, headers);
    };
    try {
      if (QUERY_TOKEN.test(req.url ?? '')) {
        throw new GatewayError(
          'token_invalid',
          'a token in the query string is never accepted; send Authorization or Sec-WebSocket-Protocol: moat.bearer.<token>',
        );
      }
      state = opts.pipeline.runUpgrade(eventsPolicy, request, reply);
      release = opts.openStream(state);
    } catch (err) {
      refuse(err);
      return;
    }
    socket.once('close', () => release?.());
    opts.events({ request: req, socket, head, principal: state.principal }).catch(refuse);
  }

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const isWebSocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if (isWebSocket && req.method === 'GET' && (req.url ?? '').split('?')[0] === EVENTS_WS_URL) {
      onEventsUpgrade(req, socket, head);
      return;
    }
    const match = SVC.exec(req.url ?? '');
    if (!match || !isWebSocket || req.method !== 'GET') {
      serveAsRequest(server, req, socket);
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(match[1] as string);
    } catch {
      name = match[1] as string;
    }
    const { request, reply, headers } = guarded(req, name, PROXY_URL);
    let release: (() => void) | null = null;
    let state: GuardState;
    const refuse = (error: unknown) => {
      release?.();
      const err = toGatewayError(error);
      opts.pipeline.onProblem(request, reply, err, error);
      writeProblem(socket, err, request.id, headers);
    };
    try {
      state = opts.pipeline.runUpgrade(policy, request, reply);
      release = opts.openStream(state);
    } catch (err) {
      refuse(err);
      return;
    }
    socket.once('close', () => release?.());
    const ctx: UpgradeContext = {
      name,
      url: req.url ?? '/',
      headers: req.headers,
      client: state.client,
      requestId: request.id,
      socket,
      head,
      principal: state.principal,
    };
    opts.proxy(ctx).catch(refuse);
  }

  server.on('upgrade', onUpgrade);
}
