/**
 * The job queue's view of the house: a registered service's concurrency, on-demand start, and the
 * HTTP exchanges of a job (dispatch, cancel, progress poll) through the operator-service client.
 * Targets come only from the registry and the supervisor (the service's baseUrl, or a container's
 * published port, and its job paths), never from a job.
 */
import type { Readable } from 'node:stream';
import { GatewayError } from '../../errors.js';
import type { UpstreamClient } from '../../egress/upstream.js';
import { withUpstreamHeaders, type ServiceDefinition, type Supervisor } from '../services/index.js';
import type { DispatchRequest, DispatchResult, JobServicePort } from './ports.js';

/** Reads a response body up to `max` bytes; more is an error (the job fails with result_too_large). */
async function readCapped(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new GatewayError('body_too_large', 'the service answered more than jobs.maxResultBytes');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parse(buf: Buffer, contentType: string | string[] | undefined): unknown {
  const text = buf.toString('utf8');
  if (String(contentType ?? '').includes('json') && text !== '') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text === '' ? null : text;
}

const pathFor = (template: string, jobId: string) => template.replaceAll('{id}', encodeURIComponent(jobId));

export interface JobServicePortOptions {
  supervisor: Supervisor;
  upstream: UpstreamClient;
}

export function jobServicePort(opts: JobServicePortOptions): JobServicePort {
  const { supervisor, upstream } = opts;
  const def = (name: string): ServiceDefinition => supervisor.registry.require(name).def;
  // The service's own upstream headers (its API key) go on every exchange of a job too.
  const headers = (name: string, h: Record<string, string>) => withUpstreamHeaders(h, supervisor.registry.require(name).headers);
  return {
    concurrency: (name) => supervisor.registry.get(name)?.def.concurrency,
    isReady: (name) => supervisor.registry.get(name) !== undefined && supervisor.state(name) === 'healthy',
    ensureRunning: (name, timeoutMs) => supervisor.ensureRunning(name, timeoutMs),
    noteActivity: (name) => supervisor.noteActivity(name),
    async dispatch(name: string, req: DispatchRequest): Promise<DispatchResult> {
      const d = def(name);
      const target = supervisor.target(name, pathFor(d.jobs.path, req.jobId));
      // The idle stop waits while a job runs on the service.
      const release = supervisor.track(name);
      try {
        const res = await upstream.request({
          origin: target.origin,
          path: target.path,
          method: 'POST',
          headers: headers(name, {
            'content-type': 'application/json',
            'x-moat-job-id': req.jobId,
            'x-moat-attempt': String(req.attempt),
            ...(req.progressUrl ? { 'x-moat-progress-url': req.progressUrl, 'x-moat-progress-token': req.progressToken } : {}),
            ...(req.workspace ? { 'x-moat-workspace': req.workspace } : {}),
          }),
          body: JSON.stringify(req.payload ?? null),
          signal: req.signal,
          // The job's own timeout governs, not the proxy's.
          headersTimeoutMs: 0,
          bodyTimeoutMs: 0,
        });
        const body = await readCapped(res.body, req.maxResultBytes);
        return { status: res.status, body: parse(body, res.headers['content-type']) };
      } finally {
        release();
      }
    },
    async cancel(name, jobId) {
      const d = supervisor.registry.get(name)?.def;
      if (!d) return;
      const target = supervisor.target(name, pathFor(d.jobs.cancelPath, jobId));
      const res = await upstream.request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers: headers(name, { 'x-moat-job-id': jobId }),
        headersTimeoutMs: 5000,
        bodyTimeoutMs: 5000,
      });
      await res.body.dump();
    },
    async progress(name, jobId) {
      const d = def(name);
      if (d.jobs.progressPath === '') return null;
      const target = supervisor.target(name, pathFor(d.jobs.progressPath, jobId));
      const res = await upstream.request({
        origin: target.origin,
        path: target.path,
        method: 'GET',
        headers: headers(name, { accept: 'application/json' }),
        headersTimeoutMs: 5000,
        bodyTimeoutMs: 5000,
      });
      if (res.status !== 200) {
        await res.body.dump();
        return null;
      }
      const body = (await readCapped(res.body, 65_536).then((b) => parse(b, 'json'))) as { progress?: unknown; message?: unknown } | null;
      if (typeof body?.progress !== 'number') return null;
      return { progress: body.progress, message: typeof body.message === 'string' ? body.message : null };
    },
  };
}
