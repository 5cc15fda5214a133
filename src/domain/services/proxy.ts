/**
 * The reverse proxy's domain half: resolve a service by name, start it on demand, forward one
 * request (body streamed, capped by proxy.maxBodyBytes) or one WebSocket upgrade to its baseUrl,
 * and hand the response back as plain data and a stream. The target always comes from the
 * registry; the client chooses only the path. Never sees a request object, only its parts.
 */
import type { Duplex, Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { upstreamError, type Exchange, type ResponseSink, type UpstreamClient } from '../../egress/upstream.js';
import { GatewayError } from '../../errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { requestHeaderList, requestHeaders, responseHeaderList, responseHeaders, type HeaderBag } from './proxy-headers.js';
import { proxyPath } from './proxy-path.js';
import type { ServiceRegistry } from './registry.js';
import { withUpstreamHeaders } from './upstream-headers.js';

export interface ServiceProxyOptions {
  registry: ServiceRegistry;
  supervisor: Supervisor;
  upstream: UpstreamClient;
  maxBodyBytes: number;
  proto: 'http' | 'https';
}

export interface ForwardRequest {
  service: string;
  method: string;
  /** The request target as the client sent it (`/svc/<name>/...?query`); proxy-path.ts checks and rebuilds it. */
  target: string;
  headers: HeaderBag;
  /** The request body, streamed; null when there is none. */
  body: Readable | null;
  /** The client address moat believes. */
  client: string;
  requestId: string;
}

/**
 * Where the proxy writes a response; the route implements it over the client's connection, so the
 * domain never holds a response object and the bytes take no detour through a stream per request.
 */
export interface ProxyWriter {
  /**
   * The service's status and (filtered) headers as a flat list (name, value, name, value, ...),
   * which the writer may append to; `streaming` when the length is unknown (send headers now).
   */
  head(status: number, headers: string[], streaming: boolean): void;
  /** A body chunk; false when the client is not keeping up (then the function given to onDrain is called). */
  write(chunk: Buffer): boolean;
  end(): void;
  /** The exchange broke after head(): cut the response. */
  destroy(): void;
  onDrain(fn: () => void): void;
  /** Called once when the connection to the client closes (normally or not). */
  onClose(fn: () => void): void;
}

/** Counts a streamed body and cuts it off past the cap (a chunked upload has no length to check up front). */
function capped(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > limit) cb(new GatewayError('body_too_large', `the body is over ${limit} bytes`));
      else cb(null, chunk);
    },
  });
}

/** The authority the client used: Host, or :authority over HTTP/2 (both checked by the host guard). */
function authority(headers: HeaderBag): string | undefined {
  const v = headers['host'] ?? headers[':authority'];
  return typeof v === 'string' ? v : undefined;
}

/**
 * One forwarded response: the service's answer written to the client as it comes. One object per
 * request (no closures per callback). Backpressure: a write the client is not keeping up with
 * pauses the service until the client drains (the drain listener is added on the first such write
 * only).
 */
class ForwardSink implements ResponseSink {
  exchange: Exchange | null = null;
  private started = false;
  private finished = false;
  private waitsForDrain = false;

  constructor(
    private readonly out: ProxyWriter,
    private readonly service: string,
    private readonly release: () => void,
    private readonly resolve: () => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  onStart(status: number, raw: Buffer[]): void {
    this.started = true;
    const list: string[] = [];
    const length = responseHeaderList(raw, this.service, list);
    this.out.head(status, list, !length);
    this.resolve();
  }

  onData(chunk: Buffer): boolean {
    if (this.out.write(chunk)) return true;
    if (!this.waitsForDrain) {
      this.waitsForDrain = true;
      this.out.onDrain(this.drained);
    }
    return false;
  }

  onEnd(): void {
    this.finished = true;
    this.release();
    this.out.end();
  }

  onError(err: Error): void {
    this.finished = true;
    this.release();
    if (this.started) this.out.destroy();
    else this.reject((err as { code?: string }).code === 'body_too_large' ? err : upstreamError(err, this.service));
  }

  private readonly drained = (): void => {
    this.exchange?.resume();
  };

  readonly clientClosed = (): void => {
    if (!this.finished) this.exchange?.abort();
  };
}

export class ServiceProxy {
  constructor(private readonly opts: ServiceProxyOptions) {}

  /** The path to send, checked (404 service_not_found, 400 path_not_allowed); the target itself is asked for once the service runs. */
  private pathFor(name: string, requestTarget: string): string {
    this.opts.registry.require(name);
    return proxyPath(requestTarget, name);
  }

  /** The headers for the service: the client's, filtered (proxy-headers.ts), with the service's own upstream headers set over them. */
  private headersFor(req: Omit<ForwardRequest, 'body' | 'method'>): Record<string, string | string[]> {
    const filtered = requestHeaders(req.headers, { client: req.client, proto: this.opts.proto, host: authority(req.headers), requestId: req.requestId });
    return withUpstreamHeaders(filtered, this.opts.registry.require(req.service).headers);
  }

  /**
   * Forwards one request and writes the response to `out` as the service produces it. Resolves
   * once the response has started (head() was called); rejects with a GatewayError when nothing
   * was sent (unknown service, 503 while down, 502/504), so the route can answer with a problem.
   */
  async forward(req: ForwardRequest, out: ProxyWriter): Promise<void> {
    const path = this.pathFor(req.service, req.target);
    const length = req.headers['content-length'];
    const service = req.service;
    if (length !== undefined && Number(length) > this.opts.maxBodyBytes) {
      throw new GatewayError('body_too_large', `the body is over ${this.opts.maxBodyBytes} bytes`);
    }
    const supervisor = this.opts.supervisor;
    if (supervisor.state(req.service) !== 'healthy') await supervisor.ensureRunning(req.service);
    // After the start on demand: a container service's port is known only once it runs.
    const target = supervisor.target(req.service, path);
    const release = supervisor.track(req.service);
    let body: Readable | null = req.body;
    if (body !== null && length === undefined) body = body.pipe(capped(this.opts.maxBodyBytes));
    // The client's headers, filtered; the service's own upstream headers over them.
    const headers = this.opts.registry
      .require(service)
      .headers.applyList(
        requestHeaderList(req.headers, { client: req.client, proto: this.opts.proto, host: authority(req.headers), requestId: req.requestId }, body !== null),
      );
    return new Promise<void>((resolve, reject) => {
      const sink = new ForwardSink(out, service, release, resolve, reject);
      sink.exchange = this.opts.upstream.exchange({ origin: target.origin, path: target.path, method: req.method, headers: headers as string[], body }, sink);
      // The client went away: stop the service's work on its behalf (an LLM thinking for it, say).
      out.onClose(sink.clientClosed);
    });
  }

  /**
   * Proxies a WebSocket (HTTP/1.1 Upgrade): opens the upgrade to the service, writes its 101 to the
   * client socket and joins the two. Throws before anything is written to the client on failure.
   */
  async upgrade(req: Omit<ForwardRequest, 'body' | 'method'>, client: Duplex, head: Buffer): Promise<void> {
    const path = this.pathFor(req.service, req.target);
    const supervisor = this.opts.supervisor;
    await supervisor.ensureRunning(req.service);
    const target = supervisor.target(req.service, path);
    const protocol = String(req.headers['upgrade'] ?? 'websocket');
    const release = supervisor.track(req.service);
    let up: { headers: Record<string, string | string[] | undefined>; socket: Duplex };
    try {
      up = await this.opts.upstream.upgrade({
        origin: target.origin,
        path: target.path,
        headers: this.headersFor(req),
        protocol,
      });
    } catch (err) {
      release();
      if ((err as { message?: string }).message === 'bad upgrade') throw new GatewayError('upstream_failed', `service ${req.service} refused the upgrade`);
      throw upstreamError(err, req.service);
    }
    const upstream = up.socket;
    if (client.destroyed) {
      upstream.destroy();
      release();
      return;
    }
    const lines = ['HTTP/1.1 101 Switching Protocols', `upgrade: ${protocol}`, 'connection: Upgrade'];
    for (const [name, value] of Object.entries(responseHeaders(up.headers, req.service))) {
      for (const v of Array.isArray(value) ? value : [value]) if (!/[\r\n]/.test(v)) lines.push(`${name}: ${v}`);
    }
    client.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
      release();
    };
    for (const s of [client, upstream]) {
      s.once('close', close);
      s.once('error', close);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
