/**
 * An OpenAI-compatible test service for proxy tests: POST /v1/chat/completions with `stream: true`
 * answers with server-sent events, one `chat.completion.chunk` per token, as an LLM server does.
 * It sends the first token at once and holds the rest until the test releases the stream, so a
 * test can see the first token arrive while the service has not finished, and it reports when a
 * stream's connection closes before the end (the client went away). GET /health answers 200, and
 * GET /page serves an HTML page (what a service's own web UI looks like through the proxy).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One streamed completion, as the service saw it. */
export interface Completion {
  /** The request's headers as they reached the service. */
  headers: http.IncomingHttpHeaders;
  /** The request body, parsed. */
  body: { model?: string; stream?: boolean; messages?: unknown[] };
  /** Sends the remaining tokens and ends the stream. */
  release(): void;
  /** Whether the stream was ended by the service (all tokens and [DONE] sent). */
  finished(): boolean;
  /** Resolves when the connection of this stream closes before the service ended it. */
  readonly aborted: Promise<void>;
}

export interface OpenAIUpstream {
  url: string;
  /** The tokens every completion streams, in order. */
  tokens: readonly string[];
  /** Resolves with the next streamed completion that reaches the service (in arrival order). */
  nextCompletion(): Promise<Completion>;
  /** Completions seen so far. */
  count(): number;
  close(): Promise<void>;
}

const TOKENS = ['Hello', ',', ' this', ' is', ' moat', ' speaking', '.'];
const CREATED = 1_700_000_000;

function chunk(model: string, delta: { content?: string; role?: string }, finish: string | null): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: CREATED, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

export async function startOpenAIUpstream(): Promise<OpenAIUpstream> {
  const arrived: Completion[] = [];
  const waiting: Array<(c: Completion) => void> = [];
  let count = 0;

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
      return;
    }
    if (req.method === 'GET' && req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>chat</title><script>fetch("/api/v1/tokens")</script>');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found"}}');
      return;
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      const body = JSON.parse(text) as Completion['body'];
      const model = body.model ?? 'test-model';
      let ended = false;
      let onAbort: () => void = () => undefined;
      const aborted = new Promise<void>((resolve) => (onAbort = resolve));
      res.on('close', () => {
        if (!ended) onAbort();
      });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(chunk(model, { role: 'assistant', content: TOKENS[0] }, null));
      const completion: Completion = {
        headers: req.headers,
        body,
        release() {
          if (ended || res.destroyed) return;
          for (const t of TOKENS.slice(1)) res.write(chunk(model, { content: t }, null));
          res.write(chunk(model, {}, 'stop'));
          ended = true;
          res.end('data: [DONE]\n\n');
        },
        finished: () => ended,
        aborted,
      };
      count++;
      const w = waiting.shift();
      if (w) w(completion);
      else arrived.push(completion);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    tokens: TOKENS,
    nextCompletion: () => {
      const c = arrived.shift();
      return c ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve));
    },
    count: () => count,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
