/**
 * Outbound to operator services: the one undici Agent used for health probes, the reverse proxy and
 * job dispatch, to a *registered* service's baseUrl only. Separate from the client-facing egress
 * guard on purpose: its targets come from the service registry (loopback unless the operator's
 * config widened them), never from a request, so a client can choose a path but never a host.
 * Maps transport failures to stable codes. Imports errors and config types only.
 */
import type { Duplex, Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import { undici } from './undici.js';

export interface UpstreamOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

export interface UpstreamRequest {
  /** scheme://host[:port] of a registered service. */
  origin: string;
  /** Path and query, starting with `/`. */
  path: string;
  method: string;
  /** An object, or a flat list (name, value, name, value, ...). */
  headers: Record<string, string | string[]> | string[];
  body?: Readable | string | Buffer | null;
  signal?: AbortSignal;
  /** Overrides of the default timeouts (ms); 0 turns the body timeout off. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { dump(opts?: { limit: number }): Promise<void>; text(): Promise<string>; json(): Promise<unknown> };
}

/** Where a forwarded response goes, chunk by chunk, as the service produces it (no stream in between). */
export interface ResponseSink {
  /** Status and raw headers (name, value, name, value, ... as received) of the final (non-1xx) response. */
  onStart(status: number, rawHeaders: Buffer[]): void;
  /** A body chunk; return false to pause the service until `exchange.resume()`. */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /** The exchange failed (before or after onStart) or was aborted. */
  onError(err: Error): void;
}

/** A forwarded request in flight. */
export interface Exchange {
  /** Stops it (the client went away); the sink gets onError. */
  abort(): void;
  /** Continues after onData returned false. */
  resume(): void;
}

export interface ProbeResult {
  ok: boolean;
  status: number | null;
  /** A short reason when not ok: `refused`, `timeout`, `status 500`, ... */
  error: string | null;
  ms: number;
}

/** Transport failure -> a short, safe reason (never the service's own error text). */
export function failureReason(err: unknown): 'refused' | 'timeout' | 'reset' | 'invalid' | 'failed' {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_INVALID_ARG') return 'invalid';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return 'refused';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  if ((err as { name?: string }).name === 'TimeoutError') return 'timeout';
  return 'failed';
}

/** A transport failure as the error a proxied client sees. */
export function upstreamError(err: unknown, service: string): GatewayError {
  switch (failureReason(err)) {
    case 'refused':
      return new GatewayError('service_unavailable', `service ${service} is not accepting connections`, { headers: { 'retry-after': '5' }, cause: err });
    case 'invalid':
      // Our own mistake (a header undici refuses), not the service's: a 500 with the cause logged.
      return new GatewayError('internal', 'internal error; the request id is in the log', { cause: err });
    case 'timeout':
      return new GatewayError('upstream_timeout', `service ${service} did not answer in time`, { cause: err });
    default:
      return new GatewayError('upstream_failed', `service ${service} broke off the exchange`, { cause: err });
  }
}

/**
 * One exchange, as undici's callback handler: one object per request, its methods on the prototype.
 * Backpressure: onData returning false pauses the connection's parser until resume().
 */
class ExchangeHandler implements Exchange {
  private abortFn: ((err: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private aborted = false;

  constructor(private readonly sink: ResponseSink) {}

  onConnect(abort: (err: Error) => void): void {
    this.abortFn = abort;
    if (this.aborted) abort(new Error('aborted'));
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx (100 Continue, 103 Early Hints) are not the response.
    if (status < 200) return true;
    this.resumeFn = resume;
    this.sink.onStart(status, rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.sink.onData(chunk);
  }

  onComplete(): void {
    this.sink.onEnd();
  }

  onError(err: Error): void {
    this.sink.onError(err);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortFn?.(new Error('aborted'));
  }

  resume(): void {
    this.resumeFn?.();
  }
}

export class UpstreamClient {
  private agent: Agent | null = null;
  private closed = false;

  constructor(private readonly opts: UpstreamOptions) {}

  private dispatcher(): Agent {
    if (this.closed) throw new GatewayError('draining', 'the gateway is shutting down');
    this.agent ??= new (undici().Agent)({
      connect: { timeout: this.opts.connectTimeoutMs },
      headersTimeout: this.opts.headersTimeoutMs,
      bodyTimeout: this.opts.bodyTimeoutMs,
      keepAliveTimeout: 4000,
    });
    return this.agent;
  }

  /** One request to a service. Rejects with the raw transport error (see upstreamError). */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const res = await this.dispatcher().request({
      origin: req.origin,
      path: req.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body ?? null,
      signal: req.signal ?? null,
      headersTimeout: req.headersTimeoutMs ?? this.opts.headersTimeoutMs,
      bodyTimeout: req.bodyTimeoutMs ?? this.opts.bodyTimeoutMs,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body as unknown as UpstreamResponse['body'] };
  }

  /**
   * Forwards one request and feeds the response straight into `sink`. undici's dispatch with its
   * callback handler (onConnect/onHeaders/onData/onComplete/onError), which its client speaks
   * natively: no Readable or pipeline per request, and no adapter that parses the response head into
   * an object first (the newer onResponse* handlers are wrapped in one). Failures reach the sink,
   * never throw.
   */
  exchange(req: UpstreamRequest, sink: ResponseSink): Exchange {
    const handler = new ExchangeHandler(sink);
    try {
      this.dispatcher().dispatch(
        {
          origin: req.origin,
          path: req.path,
          method: req.method as Dispatcher.HttpMethod,
          headers: req.headers,
          body: req.body ?? null,
          headersTimeout: req.headersTimeoutMs ?? this.opts.headersTimeoutMs,
          bodyTimeout: req.bodyTimeoutMs ?? this.opts.bodyTimeoutMs,
        },
        handler as unknown as Dispatcher.DispatchHandler,
      );
    } catch (err) {
      queueMicrotask(() => sink.onError(err as Error));
    }
    return handler;
  }

  /**
   * GET `path` with a deadline; 2xx is healthy, or with `below500` any answer below 500 (a server
   * that is up but has no health route: 404 on `/` is an answer). `headers`: the service's own
   * (upstreamHeaders), e.g. the key of a server that refuses unauthenticated requests. Never throws.
   */
  async probe(
    origin: string,
    path: string,
    timeoutMs: number,
    opts: { headers?: Record<string, string | string[]>; below500?: boolean } = {},
  ): Promise<ProbeResult> {
    const t0 = performance.now();
    const ms = () => Math.round((performance.now() - t0) * 10) / 10;
    try {
      const res = await this.dispatcher().request({
        origin,
        path,
        method: 'GET',
        headers: { 'user-agent': 'moat-health-probe', ...opts.headers },
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.dump({ limit: 65_536 }).catch(() => undefined);
      const ok = opts.below500 === true ? res.statusCode < 500 : res.statusCode >= 200 && res.statusCode < 300;
      return { ok, status: res.statusCode, error: ok ? null : `status ${res.statusCode}`, ms: ms() };
    } catch (err) {
      return { ok: false, status: null, error: failureReason(err), ms: ms() };
    }
  }

  /** Opens an HTTP/1.1 upgrade (WebSocket) to a service; resolves with the 101's headers and the socket. */
  async upgrade(req: {
    origin: string;
    path: string;
    headers: Record<string, string | string[]>;
    protocol: string;
    signal?: AbortSignal;
  }): Promise<{ headers: Record<string, string | string[] | undefined>; socket: Duplex }> {
    const data = await this.dispatcher().upgrade({
      origin: req.origin,
      path: req.path,
      method: 'GET',
      headers: req.headers,
      protocol: req.protocol,
      signal: req.signal ?? null,
    } as Dispatcher.UpgradeOptions & { origin: string });
    return { headers: data.headers, socket: data.socket };
  }

  /** Closes pooled connections; later calls are refused. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const agent = this.agent;
    this.agent = null;
    if (agent) await agent.destroy().catch(() => undefined);
  }
}
