/**
 * The example worker's HTTP contract (other parts of moat and their tests rely on it): health, jobs
 * with progress reports, failures on request, cancel, SSE, WebSocket echo, a log line per job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../helpers/net.js';
import { WORKER, waitFor } from '../helpers/services.js';

let child: ChildProcess;
let base: string;
let stdout = '';

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [WORKER], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.on('data', (d) => (stdout += d));
  await waitFor(() => stdout.includes('gpu-worker listening'), 'worker listening');
});

afterAll(() => {
  child?.kill('SIGTERM');
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('gpu-worker contract', () => {
  it('answers GET /health with {"ok":true}', async () => {
    const res = await request(`${base}/health`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ ok: true });
  });

  it('runs a job, reporting progress with the token after each step, and echoes the payload', async () => {
    const reports: Array<{ auth: string | undefined; body: unknown }> = [];
    const sink = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        reports.push({ auth: req.headers.authorization, body: JSON.parse(text) });
        res.end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/progress`;
      const payload = { steps: 3, stepMs: 5, extra: 'kept' };
      const res = await post('/jobs', payload, { 'x-moat-job-id': 'job-a', 'x-moat-progress-url': url, 'x-moat-progress-token': 'tok' });
      expect(res).toEqual({ status: 200, json: { echo: payload } });
      await waitFor(() => reports.length === 3, 'three progress reports');
      expect(reports.map((r) => r.body)).toEqual([
        { progress: 1 / 3, message: 'step 1/3' },
        { progress: 2 / 3, message: 'step 2/3' },
        { progress: 1, message: 'step 3/3' },
      ]);
      expect(reports.every((r) => r.auth === 'Bearer tok')).toBe(true);
      const progress = await request(`${base}/jobs/job-a/progress`);
      expect(await progress.body.json()).toEqual({ progress: 1, message: 'step 3/3', state: 'done' });
      expect(stdout).toMatch(/job job-a attempt 1/);
    } finally {
      sink.close();
    }
  });

  it('has every progress post answered before its own answer, and stops posting once moat answers 409', async () => {
    const seen: number[] = [];
    // The sink answers 409 from the second post on, as moat does for a job that is no longer running.
    const sink = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        seen.push((JSON.parse(text) as { progress: number }).progress);
        res.statusCode = seen.length >= 2 ? 409 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/progress`;
      const res = await post('/jobs', { steps: 5, stepMs: 1 }, { 'x-moat-job-id': 'job-409', 'x-moat-progress-url': url, 'x-moat-progress-token': 'tok' });
      expect(res.status).toBe(200);
      // Already there when the answer came (awaited), and nothing after the 409.
      expect(seen).toEqual([0.2, 0.4]);
    } finally {
      sink.close();
    }
  });

  it('needs X-Moat-Job-Id', async () => {
    expect((await post('/jobs', { steps: 0 })).status).toBe(400);
  });

  it('fails as asked, and fails the first failAttempts attempts of a job id with 503', async () => {
    expect(await post('/jobs', { steps: 0, fail: true }, { 'x-moat-job-id': 'job-f' })).toEqual({ status: 500, json: { error: 'failed as asked' } });
    const body = { steps: 0, failAttempts: 2 };
    expect((await post('/jobs', body, { 'x-moat-job-id': 'job-t' })).json).toEqual({ error: 'transient' });
    expect((await post('/jobs', body, { 'x-moat-job-id': 'job-t' })).status).toBe(503);
    expect(await post('/jobs', body, { 'x-moat-job-id': 'job-t' })).toEqual({ status: 200, json: { echo: body } });
  });

  it('cancels a running job: its POST /jobs answers 409 {"canceled":true}', async () => {
    const pending = post('/jobs', { steps: 1000, stepMs: 10 }, { 'x-moat-job-id': 'job-c' });
    await waitFor(async () => ((await (await request(`${base}/jobs/job-c/progress`)).body.json()) as { progress?: number }).progress! > 0, 'job running');
    const cancel = await post('/jobs/job-c/cancel', {});
    expect(cancel.status).toBe(200);
    expect(await pending).toEqual({ status: 409, json: { canceled: true } });
  });

  it('streams SSE chunks and echoes WebSocket messages', async () => {
    const res = await request(`${base}/stream?n=3&ms=5`);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(await res.body.text()).toBe('data: chunk 0\n\ndata: chunk 1\n\ndata: chunk 2\n\n');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
    const msg = await new Promise<string>((resolve) => {
      ws.once('open', () => ws.send('ping'));
      ws.once('message', (d) => resolve(String(d)));
    });
    expect(msg).toBe('ping');
    ws.close();
  });
});
