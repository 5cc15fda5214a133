/** Test clients for live events: an SSE reader over undici and a WebSocket client, both collecting what they receive. */
import { request } from 'undici';
import WebSocket from 'ws';
import type { Gateway } from '../../src/gateway.js';
import { waitFor } from './services.js';

export interface SseEvent {
  id: string | null;
  event: string;
  data: any;
}

export interface SseStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The problem document when the stream was refused. */
  problem: any;
  events: SseEvent[];
  /** Comment lines (`: connected`, `: keep-alive`). */
  comments: string[];
  /** Waits until `pred` holds for some received event; returns it. */
  until(pred: (e: SseEvent) => boolean, label?: string, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
  closed: Promise<void>;
}

/** Opens GET /api/v1/events (or `path`); `token` false sends none. */
export async function openSse(base: string, token: string | false, headers: Record<string, string> = {}, path = '/api/v1/events'): Promise<SseStream> {
  const controller = new AbortController();
  const res = await request(`${base}${path}`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    signal: controller.signal,
    bodyTimeout: 0,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let problem: any = null;
  let closed: Promise<void> = Promise.resolve();
  if (res.statusCode >= 400) {
    problem = await res.body.json().catch(() => null);
  } else {
    closed = (async () => {
      let buffer = '';
      try {
        for await (const chunk of res.body) {
          buffer += (chunk as Buffer).toString('utf8');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let id: string | null = null;
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) {
                comments.push(line.slice(1).trim());
                continue;
              }
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'id') id = value;
              else if (field === 'event') event = value;
              else if (field === 'data') data.push(value);
            }
            if (data.length === 0) continue;
            let parsed: unknown = data.join('\n');
            try {
              parsed = JSON.parse(parsed as string);
            } catch {
              // kept as text
            }
            events.push({ id, event, data: parsed });
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  }
  return {
    status: res.statusCode,
    headers: res.headers,
    problem,
    events,
    comments,
    until: (pred, label = 'an event', timeoutMs = 20_000) => waitFor(() => events.find(pred), label, timeoutMs, 10),
    close: () => controller.abort(),
    get closed() {
      return closed;
    },
  };
}

export interface WsClient {
  ws: WebSocket;
  messages: any[];
  until(pred: (m: any) => boolean, label?: string): Promise<any>;
  close(): Promise<void>;
}

/** The outcome of a WebSocket handshake: open (with the client), or refused (status and problem body). */
export type WsAttempt =
  | { open: true; client: WsClient; protocol: string; responseHeaders: Record<string, string | string[] | undefined> }
  | { open: false; status: number; body: any; headers: Record<string, string | string[] | undefined> };

export function connectWs(url: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<WsAttempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
    const messages: any[] = [];
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    ws.on('upgrade', (res) => (responseHeaders = res.headers));
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.once('open', () =>
      resolve({
        open: true,
        protocol: ws.protocol,
        responseHeaders,
        client: {
          ws,
          messages,
          until: (pred, label = 'a message') => waitFor(() => messages.find(pred), label, 20_000, 10),
          close: () =>
            new Promise<void>((r) => {
              if (ws.readyState === ws.CLOSED) return r();
              ws.once('close', () => r());
              ws.close();
            }),
        },
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ open: false, status: res.statusCode ?? 0, body, headers: res.headers });
        ws.terminate();
      });
    });
    ws.once('error', (err) => {
      if (ws.readyState !== ws.CLOSED) reject(err);
    });
  });
}

/**
 * Event streams the gateway counts as open (limits.maxStreams). Read from inside the gateway: there
 * is no route for it, and waiting on it is how a test knows a closed stream's slot is free again.
 */
export function openStreams(g: { gw: Gateway }): number {
  return g.gw.parts.guards.inflight.streamCount();
}
