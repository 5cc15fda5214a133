/**
 * /svc/{name}/...: the authenticated reverse proxy (scope `svc:<name>`, or admin). Bodies stream
 * both ways: a pass-through content-type parser hands the raw request stream on (the JSON body
 * limit does not apply; proxy.maxBodyBytes does, while streaming), and the response is written as
 * the service produces it, headers first. WebSocket upgrades come through http/ws.ts into
 * proxyUpgrade() after the same guards.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyWriter } from '../domain/services/index.js';
import type { Principal } from '../crypto/principal.js';
import { svcScope } from '../crypto/scopes.js';
import { isDroppedResponseHeader } from '../domain/services/proxy-headers.js';
import type { RouteDeps } from './deps.js';

/** The route's policy, shared with the upgrade path so that both demand the same scope. */
export const PROXY_ROUTE_CONFIG = { scope: (params: unknown) => svcScope((params as { name: string }).name), raw: true } as const;
export const PROXY_URL = '/svc/:name/*';

const READ_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;
const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

const uncork = (out: { uncork(): void }) => out.uncork();

/** Removes every `name` entry from a flat header list (name, value, ...), in place. */
function removeName(list: string[], name: string): void {
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if (list[r] === name) continue;
    list[w++] = list[r] as string;
    list[w++] = list[r + 1] as string;
  }
  list.length = w;
}

/** The response to the client, written as the service produces it (see ProxyWriter). One object per request. */
class ClientWriter implements ProxyWriter {
  private readonly out: FastifyReply['raw'];

  constructor(private readonly reply: FastifyReply) {
    this.out = reply.raw;
  }

  head(status: number, list: string[], streaming: boolean): void {
    const reply = this.reply;
    const out = this.out;
    reply.hijack();
    // The service's headers, then the guards' after them (nosniff, no-referrer, no-store, DENY,
    // HSTS, the request id, CORS for an allowed origin): the gateway's own security headers win on
    // its origin. Most of the names are never passed from a service (proxy-headers.ts); for any
    // other (Vary), the service's value gives way to the gateway's.
    const own = reply.getHeaders();
    for (const name in own) {
      if (!isDroppedResponseHeader(name)) removeName(list, name);
      list.push(name, own[name] as string);
    }
    out.writeHead(status, list);
    // Token streams: the headers go now, not with the first chunk an LLM may take seconds to think of.
    if (streaming) out.flushHeaders();
    else if (typeof out.cork === 'function') {
      // A small response usually arrives whole in this tick: headers, body and end in one write.
      out.cork();
      process.nextTick(uncork, out);
    }
  }

  write(chunk: Buffer): boolean {
    return this.out.write(chunk);
  }

  end(): void {
    this.out.end();
  }

  destroy(): void {
    this.out.destroy();
  }

  onDrain(fn: () => void): void {
    this.out.on('drain', fn);
  }

  onClose(fn: () => void): void {
    // 'close' comes once per response.
    this.out.on('close', fn);
  }
}

/**
 * Whether the request has a body to forward. HTTP/1.1 says so with Content-Length or
 * Transfer-Encoding; over HTTP/2 a body needs neither (a streamed upload has no length): there,
 * any stream that did not end with its HEADERS frame has one (RFC 9113 8.1).
 */
function hasBody(raw: FastifyRequest['raw']): boolean {
  if (raw.httpVersionMajor === 2) return (raw as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  const headers = raw.headers;
  const len = headers['content-length'];
  return (len !== undefined && len !== '0') || headers['transfer-encoding'] !== undefined;
}

export function proxyRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'proxy'>): void {
  const proxy = deps.proxy;

  function forward(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const raw = req.raw;
    return proxy.forward(
      {
        service: (req.params as { name: string }).name,
        method: req.method,
        target: raw.url ?? '/',
        headers: raw.headers,
        body: hasBody(raw) ? raw : null,
        client: req.moat.client,
        requestId: req.id,
      },
      new ClientWriter(reply),
    );
  }

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', function passThrough(_req, payload, done) {
      done(null, payload);
    });
    for (const method of [READ_METHODS, WRITE_METHODS]) {
      for (const url of ['/svc/:name', PROXY_URL]) {
        scope.route({ method: [...method], url, config: PROXY_ROUTE_CONFIG, schema: { hide: true }, handler: forward });
      }
    }
  });
}

export interface UpgradeContext {
  name: string;
  url: string;
  headers: IncomingHttpHeaders;
  client: string;
  requestId: string;
  socket: Duplex;
  head: Buffer;
  principal: Principal | null;
}

/** The WebSocket half: called by http/ws.ts once the guards passed. */
export function proxyUpgrade(deps: Pick<RouteDeps, 'proxy' | 'streams'>) {
  return function proxyUpgrade(ctx: UpgradeContext): Promise<void> {
    // The socket is the client's for as long as it lasts: it ends when its token stops working.
    if (!ctx.socket.destroyed)
      ctx.socket.once(
        'close',
        deps.streams.bind(ctx.principal, 'proxy-ws', () => ctx.socket.destroy()),
      );
    return deps.proxy.upgrade({ service: ctx.name, target: ctx.url, headers: ctx.headers, client: ctx.client, requestId: ctx.requestId }, ctx.socket, ctx.head);
  };
}
