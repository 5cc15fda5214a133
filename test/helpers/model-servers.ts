/**
 * Stand-ins for the model servers of the docs/services.md recipes: small node http servers that
 * answer like Ollama, llama.cpp's server, vLLM (with --api-key) and ComfyUI on the paths the
 * recipes use, and 404 elsewhere, as the real ones do. Each records what it was sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandIn {
  port: number;
  /** Method, path and the Authorization header of each request. */
  seen: Array<{ method: string; url: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function serve(handler: Handler): Promise<StandIn> {
  const seen: StandIn['seen'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** OpenAI's chat completion answer (non-streamed), or its SSE chunks when `stream` is set. */
function chatCompletion(res: http.ServerResponse, body: string, model: string, text: string): void {
  const req = JSON.parse(body || '{}') as { model?: string; stream?: boolean };
  const id = 'chatcmpl-standin';
  const created = 1_700_000_000;
  if (req.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const piece of text.split(/(?<= )/)) {
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: req.model ?? model, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`,
      );
    }
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: req.model ?? model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
    return;
  }
  json(res, 200, {
    id,
    object: 'chat.completion',
    created,
    model: req.model ?? model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
}

/** Ollama: GET / "Ollama is running", GET /api/tags, POST /api/generate. No /health. */
export function ollama(): Promise<StandIn> {
  return serve((req, body, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('Ollama is running');
    }
    if (req.method === 'GET' && req.url === '/api/tags') return json(res, 200, { models: [{ name: 'qwen2.5:0.5b', model: 'qwen2.5:0.5b', size: 397821319 }] });
    if (req.method === 'POST' && req.url === '/api/generate') {
      const { model } = JSON.parse(body || '{}') as { model?: string };
      return json(res, 200, { model, created_at: new Date().toISOString(), response: 'Hi from Ollama!', done: true, done_reason: 'stop' });
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found');
  });
}

/** llama.cpp's llama-server: GET /health {"status":"ok"}, POST /v1/chat/completions. */
export function llamaCpp(): Promise<StandIn> {
  return serve((req, body, res) => {
    if (req.method === 'GET' && req.url === '/health') return json(res, 200, { status: 'ok' });
    if (req.method === 'POST' && req.url === '/v1/chat/completions')
      return chatCompletion(res, body, 'qwen2.5-0.5b-instruct-q4_k_m.gguf', 'Hi from llama.cpp!');
    json(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
  });
}

/** vLLM started with --api-key `key`: /health open, every /v1 route wants `Authorization: Bearer <key>`. */
export function vllm(key: string): Promise<StandIn> {
  return serve((req, body, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200);
      return res.end();
    }
    if (req.url?.startsWith('/v1/') && req.headers.authorization !== `Bearer ${key}`) return json(res, 401, { error: 'Unauthorized' });
    if (req.method === 'GET' && req.url === '/v1/models')
      return json(res, 200, { object: 'list', data: [{ id: 'Qwen/Qwen2.5-0.5B-Instruct', object: 'model' }] });
    if (req.method === 'POST' && req.url === '/v1/chat/completions') return chatCompletion(res, body, 'Qwen/Qwen2.5-0.5B-Instruct', 'Hi from vLLM!');
    json(res, 404, { detail: 'Not Found' });
  });
}

/** ComfyUI: GET /system_stats, POST /prompt {"prompt": {...}} -> {"prompt_id", "number", "node_errors"}. */
export function comfyui(): Promise<StandIn> {
  let n = 0;
  return serve((req, body, res) => {
    if (req.method === 'GET' && req.url === '/system_stats') return json(res, 200, { system: { os: 'posix', comfyui_version: '0.3.40' }, devices: [] });
    if (req.method === 'POST' && req.url === '/prompt') {
      const parsed = JSON.parse(body || '{}') as { prompt?: unknown };
      if (typeof parsed.prompt !== 'object' || parsed.prompt === null)
        return json(res, 400, { error: { type: 'no_prompt', message: 'No prompt provided' }, node_errors: {} });
      return json(res, 200, { prompt_id: '6f3e7b1c-2d4a-4c5e-9b8a-1f2e3d4c5b6a', number: n++, node_errors: {} });
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404: Not Found');
  });
}
