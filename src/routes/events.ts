/**
 * GET /api/v1/events: live events as Server-Sent Events, filtered by what the token's scopes may
 * read, resumable with Last-Event-ID. Streams count against limits.maxStreams, not maxInflight.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { MoatEvent } from '../domain/events/bus.js';
import { scopeAllows } from '../security/scopes.js';
import type { RouteDeps } from './deps.js';

const HEARTBEAT_MS = 15_000;

export function canSee(scopes: ReadonlySet<string>, e: Pick<MoatEvent, 'family'>): boolean {
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
      const release = deps.streams.open(reply.raw);
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
        if (canSee(scopes, e)) res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.at })}\n\n`);
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
      res.once('close', () => {
        unregister();
        close();
      });
    },
  );
}
