#!/usr/bin/env node
// A stand-in for a GPU worker (an image generator, a speech model), for the moat demo and tests.
// Plain Node, no GPU, no dependency but `ws`. Listens on 127.0.0.1:$PORT (moat sets PORT from the
// service's baseUrl). Routes:
//   GET  /health                 -> 200 {"ok":true}
//   POST /jobs                   body = job payload {steps, stepMs, fail?, failAttempts?}, header X-Moat-Job-Id;
//                                reports progress after each step (X-Moat-Progress-Url/-Token; each post awaited,
//                                none after the answer, none once moat answers 409), answers {"echo": payload}
//   GET  /jobs/<id>/progress     -> {progress, message, state}
//   POST /jobs/<id>/cancel       stops a running job (its POST /jobs answers 409 {"canceled":true}); a job
//                                whose POST moat closed early (timeout, shutdown) stops as well
//   GET  /stats                  -> {active, maxActive, total}: jobs running now, the most ever running at
//                                once, and jobs received since start (tests prove moat's concurrency here)
//   GET  /stream?n=5&ms=50       -> text/event-stream, `data: chunk <i>` every ms
//   GET  /ws                     WebSocket echo
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8188);
const host = process.env.HOST ?? '127.0.0.1';
const MAX_BODY = 1_048_576;

/** Latest progress per job id: {progress, message, state}. */
const jobs = new Map();
/** Attempts seen per job id (for failAttempts). */
const attempts = new Map();
/** Cancel functions of running jobs. */
const running = new Map();
/** Jobs being handled now, the most ever handled at once, and jobs received (GET /stats). */
const stats = { active: 0, maxActive: 0, total: 0 };

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new Error('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/**
 * Posts progress and waits for the answer, so that no post is still on its way when the job's own
 * answer goes out (moat would refuse it with 409: the job is finished). Resolves false when moat
 * says the job is no longer running (409) or the token is no longer good (401): stop posting then.
 * Other failures are ignored: progress is a courtesy, the job's answer is what counts.
 */
async function reportProgress(url, token, progress, message) {
  if (!url) return false;
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ progress, message }), signal: AbortSignal.timeout(5000) });
    await r.arrayBuffer();
    return r.status !== 409 && r.status !== 401;
  } catch {
    return true;
  }
}

async function runJob(req, res) {
  const id = req.headers['x-moat-job-id'];
  if (typeof id !== 'string' || id === '') return send(res, 400, { error: 'X-Moat-Job-Id header is required' });
  stats.total++;
  stats.active++;
  stats.maxActive = Math.max(stats.maxActive, stats.active);
  try {
    return await handleJob(id, req, res);
  } finally {
    stats.active--;
  }
}

async function handleJob(id, req, res) {
  let payload;
  try {
    payload = await readJson(req);
  } catch (err) {
    return send(res, 400, { error: err.message });
  }
  const attempt = (attempts.get(id) ?? 0) + 1;
  attempts.set(id, attempt);
  console.log(`job ${id} attempt ${attempt}: ${JSON.stringify(payload)}`);
  if (Number.isInteger(payload.failAttempts) && attempt <= payload.failAttempts) {
    return send(res, 503, { error: 'transient' });
  }
  const steps = Number.isInteger(payload.steps) && payload.steps > 0 ? payload.steps : 0;
  const stepMs = Number.isFinite(payload.stepMs) && payload.stepMs > 0 ? payload.stepMs : 0;
  let progressUrl = req.headers['x-moat-progress-url'];
  const progressToken = req.headers['x-moat-progress-token'];
  const state = { progress: 0, message: `step 0/${steps}`, state: 'running' };
  jobs.set(id, state);
  let canceled = false;
  let wake = () => undefined;
  running.set(id, () => {
    canceled = true;
    wake();
  });
  // Moat gave up on the attempt (timeout, cancel, shutdown) and closed the connection: stop too.
  res.once('close', () => {
    if (!res.writableFinished) running.get(id)?.();
  });
  for (let i = 1; i <= steps && !canceled; i++) {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, stepMs);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    if (canceled) break;
    state.progress = i / steps;
    state.message = `step ${i}/${steps}`;
    if (!(await reportProgress(progressUrl, progressToken, state.progress, state.message))) progressUrl = undefined;
  }
  running.delete(id);
  if (canceled) {
    state.state = 'canceled';
    console.log(`job ${id} canceled`);
    return send(res, 409, { canceled: true });
  }
  if (payload.fail === true) {
    state.state = 'failed';
    console.log(`job ${id} failed as asked`);
    return send(res, 500, { error: 'failed as asked' });
  }
  state.state = 'done';
  state.progress = 1;
  console.log(`job ${id} done`);
  return send(res, 200, { echo: payload });
}

function stream(_req, res, url) {
  const n = Math.min(Number(url.searchParams.get('n') ?? 5), 10_000);
  const ms = Math.min(Number(url.searchParams.get('ms') ?? 50), 60_000);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let i = 0;
  const timer = setInterval(() => {
    if (i >= n) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(`data: chunk ${i}\n\n`);
    i++;
  }, ms);
  res.on('close', () => clearInterval(timer));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://worker');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/health') return send(res, 200, { ok: true });
  if (req.method === 'GET' && path === '/stats') return send(res, 200, stats);
  if (req.method === 'POST' && path === '/jobs') return void runJob(req, res);
  const m = /^\/jobs\/([^/]+)\/(progress|cancel)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]);
    if (m[2] === 'progress' && req.method === 'GET') {
      const s = jobs.get(id);
      return s ? send(res, 200, s) : send(res, 404, { error: 'no such job' });
    }
    if (m[2] === 'cancel' && req.method === 'POST') {
      const cancel = running.get(id);
      if (cancel) cancel();
      return send(res, 200, { canceled: cancel !== undefined });
    }
  }
  if (req.method === 'GET' && path === '/stream') return stream(req, res, url);
  return send(res, 404, { error: 'not found' });
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url ?? '/', 'http://worker').pathname !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});

server.listen(port, host, () => console.log(`gpu-worker listening on http://${host}:${port} (pid ${process.pid})`));

function shutdown(signal) {
  console.log(`gpu-worker: ${signal}, shutting down`);
  for (const cancel of running.values()) cancel();
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
