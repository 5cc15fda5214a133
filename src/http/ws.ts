/**
 * HTTP/1.1 upgrades (WebSocket) pass the same guards as every request: the pipeline's run() with
 * the proxy route's policy (host, origin, client address, rate limit, lockout, bearer token from
 * the Authorization header, scope svc:<name>), then the open-streams cap, then the proxy. A refusal
 * is a problem document on the raw socket, logged, counted and audited like any other. Upgrades to
 * anything but /svc/<name>/ (an `Upgrade: h2c` from curl, say) are served as ordinary requests.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, GatewayError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { requestId } from '../observe/request-id.js';
import { PROXY_ROUTE_CONFIG, PROXY_URL, type UpgradeContext } from '../routes/index.js';
import { routePolicy, type Pipeline } from './pipeline.js';
import { PROBLEM_TYPE, problemBody, toGatewayError } from './problem.js';
import type { NodeServer } from './server.js';

export interface UpgradeOptions {
  pipeline: Pipeline;
  log: Logger;
  /** Takes a slot of limits.maxStreams (throws too_many_streams); returns its release. */
  openStream(): () => void;
  proxy(ctx: UpgradeContext): Promise<void>;
}

const SVC = /^\/svc\/([^/?]+)/;

/** The parts of a FastifyRequest/Reply the guards read, over a raw upgrade request. */
function shim(req: http.IncomingMessage, name: string) {
  const headers: Record<string, string> = {};
  const request = {
    raw: req,
    headers: req.headers,
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    id: requestId(req.headers['x-request-id']),
    params: { name },
    routeOptions: { url: PROXY_URL },
    moat: null,
  } as unknown as FastifyRequest;
  const reply = {
    header(k: string, v: string) {
      headers[k] = v;
      return reply;
    },
    code() {
      return reply;
    },
    send() {
      return reply;
    },
  } as unknown as FastifyReply;
  return { request, reply, headers };
}

/** Writes a problem document to a socket that has not been answered yet, then closes it. */
function writeProblem(socket: Duplex, err: GatewayError, id: string, headers: Record<string, string>): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(problemBody(err, id));
  const all: Record<string, string> = { ...headers, ...err.headers, 'content-type': PROBLEM_TYPE, 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  const head = [`HTTP/1.1 ${err.status} ${ERRORS[err.code].title}`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  socket.end(`${head}\r\n\r\n${body}`);
}

/** Hands an upgrade request that is not ours back to the ordinary request handler (the Upgrade is ignored). */
function serveAsRequest(server: NodeServer, req: http.IncomingMessage, socket: Duplex): void {
  const res = new http.ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as import('node:net').Socket);
  res.once('finish', () => {
    res.detachSocket(socket as import('node:net').Socket);
    socket.end();
  });
  server.emit('request', req, res);
}

export function attachUpgrades(server: NodeServer, opts: UpgradeOptions): void {
  const policy = routePolicy({ method: 'GET', url: PROXY_URL, config: PROXY_ROUTE_CONFIG });

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const match = SVC.exec(req.url ?? '');
    const isWebSocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
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
    const { request, reply, headers } = shim(req, name);
    let release: (() => void) | null = null;
    const refuse = (error: unknown) => {
      release?.();
      const err = toGatewayError(error);
      opts.pipeline.onProblem(request, reply, err, error);
      writeProblem(socket, err, request.id, headers);
    };
    try {
      opts.pipeline.run(policy, request, reply);
      release = opts.openStream();
    } catch (err) {
      refuse(err);
      return;
    }
    socket.once('close', () => release?.());
    const ctx: UpgradeContext = { name, url: req.url ?? '/', headers: req.headers, client: request.moat.client, requestId: request.id, socket, head };
    opts.proxy(ctx).catch(refuse);
  }

  server.on('upgrade', onUpgrade);
}
