/**
 * The listener: HTTP/1.1, or HTTP/2 over TLS 1.3 with HTTP/1.1 fallback (ALPN); header, request and
 * keep-alive timeouts and a header size cap (slowloris); in-flight counting for the cap; and the
 * drain on shutdown (stop accepting, let in-flight requests finish up to a deadline, then close).
 */
import http from 'node:http';
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import { RES_SLOT, RES_START, type ObservedResponse, type RequestMetrics } from '../observe/request-metrics.js';
import type { InflightLimit } from '../security/inflight-limit.js';
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

/**
 * Responses born with the two slots the request metrics write (the route's slot, the arrival time),
 * so that writing them never changes an object's shape on the request path.
 */
class CountedResponse extends http.ServerResponse {
  [RES_SLOT] = -1;
  [RES_START] = 0;
}
class CountedHttp2Response extends http2.Http2ServerResponse {
  [RES_SLOT] = -1;
  [RES_START] = 0;
}

/**
 * No cap on the number of header lines kept (limits.maxHeaderBytes bounds them). Node keeps only the
 * first ~2000 in rawHeaders by default, so a second Host, Authorization or Transfer-Encoding after
 * them would be invisible to the guards that read rawHeaders to refuse duplicates (smuggling past them).
 */
const ALL_HEADERS = 0;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
export type NodeServer = http.Server | http2.Http2SecureServer;

export class Listener {
  server: NodeServer | null = null;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: ListenerOptions) {}

  /** Fastify's serverFactory: builds the Node server around Fastify's handler. */
  readonly factory = (handler: Handler): NodeServer => {
    const { inflight, limits, tls, requests } = this.opts;
    const leave = inflight.leave;
    // One 'close' listener per request does both: the in-flight count and the request metrics.
    const closed = requests
      ? function closed(this: http.ServerResponse): void {
          leave.call(this);
          requests.closed(this as unknown as ObservedResponse);
        }
      : leave;
    const counted: Handler = (req, res) => {
      inflight.enter();
      if (requests) (res as unknown as ObservedResponse)[RES_START] = performance.now();
      res.on('close', closed);
      handler(req, res);
    };
    const http1Options = {
      ...(requests ? { ServerResponse: CountedResponse } : {}),
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
          ...(requests ? { Http1ServerResponse: CountedResponse, Http2ServerResponse: CountedHttp2Response } : {}),
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
      s.on('session', (session: http2.ServerHttp2Session) => {
        this.sessions.add(session);
        session.setTimeout(limits.keepAliveTimeoutMs, () => session.close());
        session.once('close', () => this.sessions.delete(session));
      });
      s.on('secureConnection', (socket: Socket) => this.track(socket));
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

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /**
   * Stops accepting connections. Open connections stay up while draining, so that a health check
   * on them hears 503 "draining" and in-flight requests finish; they are closed by destroyAll().
   * (http.Server#close would also drop idle keep-alive connections at once: only the listening
   * socket is closed here.)
   */
  stopAccepting(): void {
    const server = this.server;
    if (!server || !server.listening) return;
    net.Server.prototype.close.call(server);
  }

  /** Waits until nothing is in flight or the deadline passes; returns whether it drained. */
  async waitForInflight(deadlineMs: number): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    while (this.opts.inflight.inflightCount() > 0) {
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** Closes every remaining connection now. */
  destroyAll(): void {
    const server = this.server;
    if (server instanceof http.Server) server.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}
