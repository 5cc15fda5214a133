/**
 * The listener: HTTP/1.1, or HTTP/2 over TLS 1.3 with HTTP/1.1 fallback (ALPN); header, request and
 * keep-alive timeouts and a header size cap (slowloris); the slot of every request, released exactly
 * once however it ends; HTTP/2 sessions reaped when their peer is gone; and the end of the drain
 * (wait for in-flight requests up to a deadline, stop accepting, close what is left).
 */
import http from 'node:http';
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import { RES_SLOT, RES_START, type ObservedResponse, type RequestMetrics } from '../observe/request-metrics.js';
import { HELD, HELD_CLIENT, HELD_TOKEN, type HeldResponse, type InflightLimit } from '../security/inflight-limit.js';
import type { TlsMaterial } from './tls.js';

export interface ListenerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
}

export interface ListenerOptions {
  tls: TlsMaterial | null;
  limits: ListenerLimits;
  inflight: InflightLimit;
  /** Counts each response when it closes (the pipeline names its route). */
  requests?: RequestMetrics;
}

/** The oldest TLS version the listener accepts (moat doctor reports it). */
export const TLS_MIN_VERSION = 'TLSv1.3';

/** On a socket (HTTP/1.1) or session (HTTP/2): the responses of its requests that hold a slot. */
const OPEN = Symbol('moat.open');
/** On a response: the connection it is listed on until released (null once released). */
const CONN = Symbol('moat.conn');
/** On an HTTP/2 session: a PING was sent and its answer has not come back. */
const PINGED = Symbol('moat.pinged');
/** On an HTTP/2 session: the TLS socket it runs on (Node only hands out a proxy of it). */
const RAW_SOCKET = Symbol('moat.rawSocket');

type Connection = { [OPEN]?: Counted[]; once(event: 'close', fn: () => void): unknown };
type Counted = ObservedResponse & HeldResponse & { [CONN]?: Connection | null; once(event: 'close', fn: () => void): unknown };
type Session = http2.ServerHttp2Session & { [OPEN]?: Counted[]; [PINGED]?: boolean; [RAW_SOCKET]?: Socket };
/** The connection of a request handed over by the upgrade path, which has none to watch. */
const UNWATCHED: Connection = { once: () => undefined };

/**
 * Responses born with the slots the request metrics and the in-flight budgets write (the route's
 * metrics slot, the arrival time, what the request holds, its connection), so that writing them
 * never changes an object's shape on the request path.
 */
class CountedResponse extends http.ServerResponse {
  [RES_SLOT] = -1;
  [RES_START] = 0;
  [HELD] = 0;
  [HELD_TOKEN]: string | null = null;
  [HELD_CLIENT]: string | null = null;
  [CONN]: Connection | null = null;
}
class CountedHttp2Response extends http2.Http2ServerResponse {
  [RES_SLOT] = -1;
  [RES_START] = 0;
  [HELD] = 0;
  [HELD_TOKEN]: string | null = null;
  [HELD_CLIENT]: string | null = null;
  [CONN]: Connection | null = null;
}

/**
 * No cap on the number of header lines kept (limits.maxHeaderBytes bounds them). Node keeps only the
 * first ~2000 in rawHeaders by default, so a second Host, Authorization or Transfer-Encoding after
 * them would be invisible to the guards that read rawHeaders to refuse duplicates (smuggling past them).
 */
const ALL_HEADERS = 0;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
export type NodeServer = http.Server | http2.Http2SecureServer;

/** The connection a request came on: its HTTP/2 session, else its socket. */
function connectionOf(req: http.IncomingMessage): Connection | null {
  if (req.httpVersionMajor === 2) return ((req as unknown as http2.Http2ServerRequest).stream?.session as unknown as Connection | undefined) ?? null;
  return (req.socket as unknown as Connection | null) ?? null;
}

export class Listener {
  server: NodeServer | null = null;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: ListenerOptions) {}

  /** Fastify's serverFactory: builds the Node server around Fastify's handler. */
  readonly factory = (handler: Handler): NodeServer => {
    const { inflight, limits, tls, requests } = this.opts;

    /**
     * Releases a request's slot and counts it, exactly once, on the first of its response's close
     * and its connection's close (HABITS 21): Node never emits 'close' on the queued responses of
     * pipelined requests whose socket died, and an HTTP/2 session can end without closing its
     * streams; either would hold the slot for good.
     */
    function release(res: Counted): void {
      const conn = res[CONN];
      if (conn === null || conn === undefined) return;
      res[CONN] = null;
      const open = conn[OPEN];
      if (open !== undefined) {
        const i = open.lastIndexOf(res);
        if (i >= 0) open.splice(i, 1);
      }
      inflight.leave(res);
      if (requests) requests.closed(res);
    }
    function closed(this: Counted): void {
      release(this);
    }
    /** The connection's 'close': every request on it that still holds a slot lets go. */
    function connectionClosed(this: Connection): void {
      const open = this[OPEN];
      if (open === undefined) return;
      for (const res of open.splice(0)) {
        if (res[CONN] === null) continue;
        res[CONN] = null;
        inflight.leave(res);
        if (requests) requests.closed(res);
      }
    }
    const counted: Handler = (req, res) => {
      const r = res as unknown as Counted;
      inflight.enter(r);
      r[RES_START] = performance.now();
      const conn = connectionOf(req) ?? UNWATCHED;
      let open = conn[OPEN];
      if (open === undefined && conn !== UNWATCHED) {
        open = conn[OPEN] = [];
        conn.once('close', connectionClosed);
      }
      open?.push(r);
      r[CONN] = conn;
      r.once('close', closed);
      handler(req, res);
    };
    const http1Options = {
      ServerResponse: CountedResponse,
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // DNS rebinding: a request without Host must reach the host guard, which refuses it like any Host
      // it does not know (421 host_not_allowed, logged and audited), not Node's bare 400 without a body.
      // (RFC 9112 3.2 suggests 400 here; our contract is one code for every refused Host.)
      requireHostHeader: false,
      // Timeouts are enforced on this tick; Node's default (30 s) would let slow headers linger.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
    };
    let server: NodeServer;
    if (tls) {
      const s = http2.createSecureServer(
        {
          ...http1Options,
          allowHTTP1: true,
          Http1ServerResponse: CountedResponse,
          Http2ServerResponse: CountedHttp2Response,
          key: tls.key,
          cert: tls.cert,
          minVersion: TLS_MIN_VERSION,
          settings: { maxConcurrentStreams: 128, maxHeaderListSize: limits.maxHeaderBytes },
          maxSessionMemory: 16,
          // A TLS handshake that never completes must not hold a socket.
          handshakeTimeout: limits.headersTimeoutMs,
        },
        counted as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
      );
      // HTTP/1.1 connections of the secure server use the http1 timeouts and header cap, which its
      // constructor ignores in the options (it would take Node's 16 KiB): set them (and the checking
      // tick) before listen. It never requires Host: the host guard refuses a missing one.
      Object.assign(s, {
        maxHeadersCount: ALL_HEADERS,
        maxHeaderSize: limits.maxHeaderBytes,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: http1Options.connectionsCheckingInterval,
      });
      // Node's own 'secureConnection' listener (registered first) makes the session and emits 'session'
      // before ours runs: the socket handed to ours is the newest session's.
      let newest: Session | null = null;
      s.on('session', (session: Session) => {
        newest = session;
        this.watchSession(session);
      });
      s.on('secureConnection', (socket: Socket) => {
        this.track(socket);
        if (newest !== null) newest[RAW_SOCKET] = socket;
        newest = null;
      });
      server = s as unknown as NodeServer; // the counted response classes are subclasses of the defaults
    } else {
      const s = http.createServer(http1Options, counted);
      s.maxHeadersCount = ALL_HEADERS;
      s.on('connection', (socket: Socket) => this.track(socket));
      server = s as unknown as NodeServer;
    }
    this.server = server;
    return server;
  };

  /**
   * HTTP/2 sessions end, whatever the peer does (HABITS 21). One whose socket closed is destroyed
   * with its streams. Idle for limits.keepAliveTimeoutMs, one without requests in flight is closed
   * (GOAWAY), one with requests in flight is pinged; the same time later, one still closing or
   * still without an answer to the ping is destroyed: a peer that vanished without a FIN (or a
   * session wedged by a flood of cancelled streams) can no longer hold its slots.
   */
  private watchSession(session: Session): void {
    const graceMs = this.opts.limits.keepAliveTimeoutMs;
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    // The proxy Node hands out forwards once() to the real socket.
    (session.socket as unknown as Socket).once('close', () => {
      if (!session.destroyed) session.destroy();
    });
    let ended = false;
    session.once('close', () => (ended = true));
    // A session destroyed while a write to its dead socket is pending never finishes closing: its
    // socket goes too, the same time later.
    const bury = () => {
      if (!ended) session[RAW_SOCKET]?.destroy();
    };
    const reap = () => {
      if (ended) return;
      if (session.destroyed) bury();
      else if (session.closed || session[PINGED] === true) {
        session.destroy();
        setTimeout(bury, graceMs).unref();
      }
    };
    session.setTimeout(graceMs, () => {
      if (session.destroyed) return;
      if (!session.closed) {
        if ((session[OPEN]?.length ?? 0) === 0) session.close();
        else if (session[PINGED] !== true) {
          session[PINGED] = true;
          try {
            const sent = session.ping((err) => {
              if (err) session.destroy();
              else session[PINGED] = false;
            });
            if (!sent) session.destroy();
          } catch {
            session.destroy();
          }
        }
      }
      setTimeout(reap, graceMs).unref();
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Stops accepting connections (the end of the drain; destroyAll() closes the open ones). */
  stopAccepting(): void {
    const server = this.server;
    if (!server?.listening) return;
    net.Server.prototype.close.call(server);
  }

  /**
   * The drain's wait, with the listener still open: until no admitted request is in flight, or
   * `windowMs` passed. New requests are refused (503 draining) before they are admitted, so a flood
   * of them cannot hold the drain open. Says how many finished and how many are left to cut.
   */
  async drain(windowMs: number): Promise<{ finished: number; cut: number }> {
    const inflight = this.opts.inflight;
    const before = inflight.admittedCount();
    const end = Date.now() + windowMs;
    while (inflight.admittedCount() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const cut = inflight.admittedCount();
    return { finished: Math.max(0, before - cut), cut };
  }

  /** Closes every remaining connection now. */
  destroyAll(): void {
    const server = this.server;
    if (server instanceof http.Server) server.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}
