/**
 * The dispatch contract and progress: the headers a service gets with a job, progress posted back
 * with the per-attempt token (a wrong token refused, a late report of a finished job answered 409
 * and never counted as a failed login), and progress polled from the service's progress path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { json, startJobsGateway, startStub, type JobsGateway, type StubRequest, type StubService } from '../helpers/jobs.js';
import { waitFor } from '../helpers/services.js';

let g: JobsGateway;
let stub: StubService;
/** A service that declares no progress path (jobs.progressPath ''): never polled. */
let quiet: StubService;
let releaseQuiet: () => void = () => undefined;
/** What the stub does with the next job: set per test. */
let onJob: (req: StubRequest, res: import('node:http').ServerResponse) => void | Promise<void> = (_req, res) => json(res, 200, { ok: true });
let polled: { progress: number; message: string } | null = null;

beforeAll(async () => {
  stub = await startStub('stub', (req, res) => {
    if (req.method === 'POST' && req.url === '/jobs') return onJob(req, res);
    if (req.method === 'GET' && /^\/jobs\/[^/]+\/progress$/.test(req.url)) return polled ? json(res, 200, polled) : json(res, 404, {});
    return json(res, 200, {});
  });
  quiet = await startStub(
    'quiet',
    async (req, res) => {
      if (req.url === '/jobs') await new Promise<void>((r) => (releaseQuiet = r));
      json(res, 200, {});
    },
    { jobs: { progressPath: '' } },
  );
  g = await startJobsGateway({ services: [stub.spec, quiet.spec], jobs: { progressPollMs: 50 } });
});

afterAll(async () => {
  await g?.stop();
  await stub?.close();
  await quiet?.close();
});

async function postProgress(url: string, token: string, body: unknown) {
  const res = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('the dispatch contract', () => {
  it('POSTs the payload to the job path with X-Moat-Job-Id, X-Moat-Attempt, X-Moat-Progress-Url and X-Moat-Progress-Token', async () => {
    onJob = (_req, res) => json(res, 200, { fine: true });
    const j = await g.submit({ service: 'stub', payload: { a: [1, 2, 3] } });
    expect(await g.until(j.id)).toMatchObject({ state: 'succeeded', result: { fine: true } });
    const seen = stub.requests.find((r) => r.headers['x-moat-job-id'] === j.id)!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/jobs');
    expect(JSON.parse(seen.body)).toEqual({ a: [1, 2, 3] });
    expect(seen.headers['content-type']).toMatch(/application\/json/);
    expect(seen.headers['x-moat-attempt']).toBe('1');
    expect(seen.headers['x-moat-progress-url']).toBe(`${g.url}/api/v1/jobs/${j.id}/progress`);
    expect(seen.headers['x-moat-progress-token']).toMatch(/^mjp_[A-Za-z0-9_-]{32}$/);
    // Moat's own credentials never reach the service.
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body).not.toContain(g.token);
  });
});

describe('progress posted back', () => {
  it('records progress posted with the attempt token and publishes it, clamped to a 500-character message', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen: StubRequest | null = null;
    onJob = async (req, res) => {
      seen = req;
      await gate;
      json(res, 200, { done: true });
    };
    const j = await g.submit({ service: 'stub', payload: {} });
    await waitFor(() => seen, 'the stub got the job');
    const url = seen!.headers['x-moat-progress-url'] as string;
    const token = seen!.headers['x-moat-progress-token'] as string;
    expect(await postProgress(url, token, { progress: 0.25, message: 'a quarter' })).toEqual({ status: 200, json: { ok: true } });
    expect((await g.job(j.id)).progress).toEqual({ value: 0.25, message: 'a quarter' });
    // Out of range and unknown fields are refused by the schema.
    expect((await postProgress(url, token, { progress: 1.5 })).status).toBe(400);
    expect((await postProgress(url, token, { progress: 0.5, secret: 'x' })).status).toBe(400);
    release();
    expect(await g.until(j.id)).toMatchObject({ state: 'succeeded', progress: { value: 1 } });
  });

  it('refuses a wrong token with 401 token_invalid, the same answer as for a job that does not exist', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen: StubRequest | null = null;
    onJob = async (req, res) => {
      seen = req;
      await gate;
      json(res, 200, {});
    };
    const j = await g.submit({ service: 'stub', payload: {} });
    await waitFor(() => seen, 'the stub got the job');
    const url = seen!.headers['x-moat-progress-url'] as string;
    const wrong = await postProgress(url, 'mjp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { progress: 0.9, message: 'forged' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: 'token_invalid' });
    const ghost = await postProgress(url.replace(j.id, 'job_doesnotexist'), seen!.headers['x-moat-progress-token'] as string, { progress: 0.9 });
    expect(ghost.status).toBe(401);
    expect(ghost.json.detail).toBe(wrong.json.detail);
    // The token of this attempt is not good for another job.
    const other = await g.submit({ service: 'stub', payload: {} });
    const cross = await postProgress(`${g.url}/api/v1/jobs/${other.id}/progress`, seen!.headers['x-moat-progress-token'] as string, { progress: 0.9 });
    expect(cross.status).toBe(401);
    release();
    await g.until(j.id);
    await g.until(other.id);
    expect((await g.job(j.id)).progress.message).not.toBe('forged');
  });

  it('answers 409 to a report that arrives after the job finished, and never counts it as a failed login', async () => {
    const late: Array<{ status: number; json: Record<string, unknown> }> = [];
    onJob = (req, res) => {
      json(res, 200, { answered: true });
      // A worker that reports its last step just as (or just after) it answers.
      setTimeout(() => {
        void postProgress(req.headers['x-moat-progress-url'] as string, req.headers['x-moat-progress-token'] as string, {
          progress: 1,
          message: 'last step',
        }).then((r) => late.push(r));
      }, 100);
    };
    const before = g.logs.lines.filter((l) => l.includes('token_invalid')).length;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await g.submit({ service: 'stub', payload: { i } })).id);
    for (const id of ids) expect((await g.until(id)).state).toBe('succeeded');
    await waitFor(() => late.length === 8, 'eight late reports answered');
    expect(late.every((r) => r.status === 409 && r.json.code === 'conflict')).toBe(true);
    // More than lockout.after (5) late reports, and the loopback client is not locked out.
    expect(g.logs.lines.filter((l) => l.includes('token_invalid')).length).toBe(before);
    expect((await g.fetch('/api/v1/jobs?limit=1')).status).toBe(200);
  });
});

describe('progress polled from the service', () => {
  it("reads the service's progress path while a job runs", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    onJob = async (_req, res) => {
      await gate;
      json(res, 200, {});
    };
    polled = { progress: 0.4, message: 'polled forty' };
    const j = await g.submit({ service: 'stub', payload: {} });
    await waitFor(async () => (await g.job(j.id)).progress.message === 'polled forty', 'polled progress recorded');
    expect((await g.job(j.id)).progress.value).toBe(0.4);
    polled = null;
    release();
    await g.until(j.id);
  });

  it('never polls a service whose progressPath is empty', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    onJob = async (_req, res) => {
      await gate;
      json(res, 200, {});
    };
    const polledJob = await g.submit({ service: 'stub', payload: {} });
    const quietJob = await g.submit({ service: 'quiet', payload: {} });
    await g.until(quietJob.id, ['running']);
    // The other service's polls are the clock: three of them, and none went to the quiet one.
    await waitFor(
      () => stub.requests.filter((r) => r.method === 'GET' && r.url === `/jobs/${polledJob.id}/progress`).length >= 3,
      'three polls of the other service',
    );
    expect(quiet.requests.filter((r) => r.method === 'GET')).toEqual([]);
    release();
    releaseQuiet();
    await g.until(polledJob.id);
    await g.until(quietJob.id);
  });
});
