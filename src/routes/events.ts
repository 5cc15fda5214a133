/**
 * GET /api/v1/events: live events as Server-Sent Events, filtered by what the token's scopes may
 * read, resumable with Last-Event-ID. Streams count against limits.maxStreams, not maxInflight.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { MoatEvent } from '../domain/events/bus.js';
import type { Principal } from '../crypto/principal.js';
import { scopeAllows, scopeHeld } from '../crypto/scopes.js';
import type { RouteDeps, StreamEnd } from './deps.js';

const HEARTBEAT_MS = 15_000;
/**
 * A client this far behind (bytes queued for it) is cut off instead of buffered without bound: a
 * slow or stalled reader must not grow the gateway's memory. An SSE client resumes with Last-Event-ID.
 */
export const MAX_BUFFERED_BYTES = 1_048_576;

/** What the console shows when its session's stream ends ("Your session ended: <reason>."). */
const SESSION_ENDS: Readonly<Record<StreamEnd, string>> = {
  signed_out: 'it was signed out',
  revoked: 'an admin ended it',
  rotated: 'the admin token was rotated, which ends every console session',
  expired: 'it expired (idle for too long, or past its lifetime)',
};

export function canSee(scopes: ReadonlySet<string>, e: Pick<MoatEvent, 'family'>): boolean {
  // Service events carry probe errors (a port scan's answers) and a failed service's log tail
  // (what clients sent it): for `services` and admin, never `read` (as GET .../logs).
  if (e.family === 'services') return scopeHeld(scopes, 'services');
  // Which codes were minted and used is the operator's business (a code's id ties it to a device).
  if (e.family === 'pairing') return scopes.has('admin');
  return scopeAllows(scopes, e.family === 'schedules' ? 'jobs' : e.family, 'GET');
}

export function eventRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'events' | 'streams'>): void {
  app.get(
    '/api/v1/events',
    {
      config: { scope: ['read', 'jobs', 'services', 'tasks'], raw: true },
      schema: {
        summary: 'Live events (text/event-stream), resumable with Last-Event-ID',
        tags: ['events'],
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 40 })) }),
      },
    },
    (req, reply) => {
      const release = deps.streams.open(reply.raw, req.moat);
      const scopes = req.moat.principal?.scopes ?? new Set<string>();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      const send = (e: MoatEvent) => {
        if (!canSee(scopes, e) || res.destroyed) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) return void res.destroy();
        res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(Object.assign({}, e.data, { at: e.at }))}\n\n`);
      };
      const last = req.headers['last-event-id'];
      if (typeof last === 'string' && last !== '') {
        const missed = deps.events.since(last);
        if (missed === null) res.write('event: reset\ndata: {"reason":"cannot resume from that id; refetch state"}\n\n');
        else for (const e of missed) send(e);
      }
      res.write(': connected\n\n');
      const unsubscribe = deps.events.subscribe(send);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      const close = () => {
        clearInterval(heartbeat);
        unsubscribe();
        release();
      };
      const unregister = deps.streams.track(() => res.end());
      // A revoked or expired token or session ends its stream (a reconnect with it is refused like any request).
      const session = req.moat.principal?.kind === 'session';
      const unbind = deps.streams.bind(req.moat.principal, 'events', (why) => {
        const data = session ? { reason: SESSION_ENDS[why], cause: why } : { reason: 'the token of this stream was revoked or expired' };
        res.end(`event: end\ndata: ${JSON.stringify(data)}\n\n`);
      });
      res.once('close', () => {
        unregister();
        unbind();
        close();
      });
    },
  );
}

/** Route config of GET /api/v1/ws, which http/ws.ts runs the guards with before the upgrade. */
export const EVENTS_WS_URL = '/api/v1/ws';
export const EVENTS_WS_CONFIG = { scope: ['read', 'jobs', 'services', 'tasks'] as const };
/** The subprotocol a client may carry its token in: `Sec-WebSocket-Protocol: moat.v1, moat.bearer.<token>`. */
export const WS_PROTOCOL = 'moat.v1';
export const WS_BEARER_PREFIX = 'moat.bearer.';

export interface EventsUpgradeContext {
  request: import('node:http').IncomingMessage;
  socket: import('node:stream').Duplex;
  head: Buffer;
  principal: Principal | null;
}

/**
 * The WebSocket half of live events: completes the handshake (choosing `moat.v1`, never echoing
 * the token) and sends each visible event as a JSON message until either side closes.
 */
export function eventsUpgrade(deps: Pick<RouteDeps, 'events' | 'streams'>) {
  let server: import('ws').WebSocketServer | null = null;
  return async function eventsUpgrade(ctx: EventsUpgradeContext): Promise<void> {
    const { WebSocketServer } = await import('ws');
    server ??= new WebSocketServer({
      noServer: true,
      maxPayload: 4096,
      handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
    const scopes = ctx.principal?.scopes ?? new Set<string>();
    server.handleUpgrade(ctx.request, ctx.socket, ctx.head, (ws) => {
      const send = (e: MoatEvent) => {
        if (!canSee(scopes, e) || ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return void ws.terminate();
        ws.send(JSON.stringify({ id: e.id, type: e.type, at: e.at, data: e.data }));
      };
      const unsubscribe = deps.events.subscribe(send);
      const unregister = deps.streams.track(() => ws.close(1001, 'gateway shutting down'));
      // 1008 (policy violation): the token of this socket was revoked or expired.
      const unbind = deps.streams.bind(ctx.principal, 'events-ws', () => ws.close(1008, 'token revoked or expired'));
      const ping = setInterval(() => ws.ping(), HEARTBEAT_MS);
      ping.unref();
      ws.on('message', () => undefined); // the stream is one-way; messages from the client are ignored
      // A bad frame or a message over maxPayload: ws closes the socket (1002/1009) and reports it
      // here. Without a listener the error would be thrown and take the gateway down.
      ws.on('error', () => ws.terminate());
      ws.once('close', () => {
        clearInterval(ping);
        unsubscribe();
        unregister();
        unbind();
      });
    });
  };
}
