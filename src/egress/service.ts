/**
 * The separate, explicit path to the operator's own registered services (health probes, dispatch,
 * the reverse proxy). No client-facing policy applies: its targets must come only from the
 * operator's service registry, never from a request. Caps size and time; follows no redirect.
 */
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { GatewayError, isGatewayError } from '../errors.js';
import { flattenHeaders, outboundHeaders } from './headers.js';
import { Deadline, TooLarge, readCapped, timeoutError, tooLargeError } from './limits.js';
import type { EgressResponse } from './types.js';

export interface ServiceRequest {
  /** A URL from the service registry (config or an admin's registration), never a client's. */
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Default 1 MiB. */
  maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 1_048_576;

export class ServiceClient {
  private readonly agent = new Agent({ connect: { timeout: DEFAULT_TIMEOUT_MS } });

  /**
   * The dispatcher for streaming to a registered service (the reverse proxy). It follows no
   * redirect; hand it only URLs built from the registry.
   */
  get dispatcher(): Dispatcher {
    return this.agent;
  }

  async request(req: ServiceRequest): Promise<EgressResponse> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new GatewayError('egress_failed', 'service URL cannot be parsed', { extra: { reason: 'unparseable', purpose: 'service' } });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new GatewayError('egress_failed', `service URL scheme ${url.protocol} is not http or https`, { extra: { reason: 'scheme_not_allowed', purpose: 'service' } });
    }
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = req.maxBytes ?? DEFAULT_MAX_BYTES;
    const deadline = new Deadline(timeoutMs);
    try {
      const res = await undiciRequest(url, {
        dispatcher: this.agent,
        method: (req.method ?? 'GET').toUpperCase() as Dispatcher.HttpMethod,
        headers: outboundHeaders(req.headers),
        body: req.body ?? null,
        signal: deadline.signal,
      });
      const body = await readCapped(res, maxBytes);
      return { status: res.statusCode, headers: flattenHeaders(res.headers), body, url: url.href };
    } catch (err) {
      if (err instanceof TooLarge) throw tooLargeError('service', url.host, maxBytes, 'the service request maxBytes');
      if (deadline.timedOut) throw timeoutError('service', url.host, timeoutMs, 'the service request timeoutMs');
      if (isGatewayError(err)) throw err;
      const code = (err as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : 'error';
      throw new GatewayError('egress_failed', `the request to service ${url.host} failed (${why})`, { extra: { reason: why, purpose: 'service' }, cause: err });
    } finally {
      deadline.clear();
    }
  }

  async stop(): Promise<void> {
    await this.agent.destroy();
  }
}
