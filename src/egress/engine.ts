/**
 * The Docker Engine API client (Docker, or Podman's Docker-compatible `podman system service`),
 * over a unix socket or http://127.0.0.1:<port>: the dozen calls the container runner needs.
 * Operator-side, like upstream.ts: the endpoint comes from the operator's config, never from a
 * request, so it is not the SSRF-guarded client. Paths are unversioned (the engine's own API
 * version: Docker 29 refuses versions below 1.44). Failures become EngineError with a short reason.
 * undici over a socket rather than dockerode: undici is already here, and this is ~12 endpoints.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { GatewayError } from '../errors.js';
import { undici } from './undici.js';

/** Why an engine call failed: the engine is not there, the thing is not there, or the engine said no. */
export type EngineFailure = 'unreachable' | 'not_found' | 'conflict' | 'refused' | 'aborted' | 'failed';

export class EngineError extends Error {
  constructor(
    readonly failure: EngineFailure,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface EngineEndpoint {
  /** The unix socket, or null for TCP. */
  socketPath: string | null;
  /** The origin requests name (http://localhost for a socket). */
  origin: string;
  /** As the operator wrote it, for messages. */
  label: string;
}

/**
 * Parses supervisor.containers.socket: an absolute socket path (`unix://` optional) or
 * http://<loopback>:<port>. Another host is refused: the ports moat publishes are on this host's
 * 127.0.0.1, and the Engine API in clear text over a network is root over that network.
 */
export function parseEngineEndpoint(raw: string): EngineEndpoint {
  const bad = (why: string): never => {
    throw new GatewayError('config_invalid', `supervisor.containers.socket ${JSON.stringify(raw)}: ${why}`);
  };
  if (raw.startsWith('http://') || raw.startsWith('https://') || raw.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(raw.replace(/^tcp:/, 'http:'));
    } catch {
      return bad('is not a URL');
    }
    if (url.protocol !== 'http:') bad('only http://127.0.0.1:<port> (or a unix socket) is supported');
    if (!['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) bad('must be a unix socket or a loopback address (the Engine API is root-equivalent)');
    if (url.pathname !== '/' || url.search !== '' || url.username !== '') bad('must be http://<loopback>:<port> without a path, query or credentials');
    return { socketPath: null, origin: url.origin, label: url.origin };
  }
  const path = raw.startsWith('unix://') ? raw.slice('unix://'.length) : raw;
  if (!path.startsWith('/')) bad('a socket path must be absolute');
  return { socketPath: path, origin: 'http://localhost', label: path };
}

/** `repo[:tag]` or `repo@digest` -> the pull's fromImage and tag (an empty tag would pull every tag). */
export function splitImage(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

export interface EngineVersion {
  /** `Docker Engine`, `Podman Engine`, ... */
  name: string;
  version: string;
  apiVersion: string;
}

export interface ContainerSummary {
  id: string;
  names: string[];
  labels: Record<string, string>;
  state: string;
}

export interface ContainerInfo {
  id: string;
  running: boolean;
  exitCode: number | null;
  /** Host port published for `<port>/tcp` on the loopback address, if any. */
  publishedPort(port: number): number | null;
}

/** Pull progress, one line of the engine's stream. */
export interface PullProgress {
  status: string;
  id?: string;
  progress?: string;
}

interface CallOptions {
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /** Headers and body timeout (ms); 0 for a long poll or a followed stream. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A connection failure as one short line that says what to do. */
function unreachable(endpoint: EngineEndpoint, err: unknown): EngineError {
  const code = (err as { code?: string }).code ?? (err as Error).message;
  return new EngineError('unreachable', `the container engine at ${endpoint.label} is not reachable (${code})`);
}

export class EngineClient {
  private pool: Pool | null = null;
  private closed = false;
  readonly endpoint: EngineEndpoint;

  constructor(endpoint: string | EngineEndpoint) {
    this.endpoint = typeof endpoint === 'string' ? parseEngineEndpoint(endpoint) : endpoint;
  }

  private dispatcher(): Pool {
    if (this.closed) throw new EngineError('aborted', 'moat is shutting down');
    const e = this.endpoint;
    this.pool ??= new (undici().Pool)(e.origin, {
      connect: { timeout: 5000, ...(e.socketPath ? { socketPath: e.socketPath } : {}) },
      // A followed log and a wait per running container, and the calls in between.
      connections: null,
      keepAliveTimeout: 4000,
    });
    return this.pool;
  }

  private async call(method: Dispatcher.HttpMethod, path: string, o: CallOptions = {}): Promise<Dispatcher.ResponseData> {
    const qs = o.query ? `?${new URLSearchParams(o.query).toString()}` : '';
    const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      return await this.dispatcher().request({
        path: `${path}${qs}`,
        method,
        headers: o.body !== undefined ? { 'content-type': 'application/json' } : {},
        body: o.body !== undefined ? JSON.stringify(o.body) : null,
        signal: o.signal ?? null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      if (err instanceof EngineError) throw err;
      if ((err as { name?: string }).name === 'AbortError' || o.signal?.aborted) throw new EngineError('aborted', 'aborted');
      const code = (err as { code?: string }).code ?? '';
      if (/^UND_ERR_(HEADERS|BODY)_TIMEOUT$/.test(code)) throw new EngineError('failed', `the container engine did not answer ${method} ${path} in time`);
      throw unreachable(this.endpoint, err);
    }
  }

  /** A call whose answer is JSON (or nothing); a status >= 400 becomes an EngineError with the engine's message. */
  private async json<T>(method: Dispatcher.HttpMethod, path: string, o: CallOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.call(method, path, o);
    const text = await res.body.text().catch(() => '');
    if (res.statusCode >= 400) throw engineRefusal(res.statusCode, text, `${method} ${path}`);
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: res.statusCode, body: body as T };
  }

  async version(signal?: AbortSignal): Promise<EngineVersion> {
    const { body } = await this.json<{ Version?: string; ApiVersion?: string; Platform?: { Name?: string }; Components?: Array<{ Name?: string }> }>(
      'GET',
      '/version',
      {
        timeoutMs: 10_000,
        ...(signal ? { signal } : {}),
      },
    );
    // Podman names itself in its first component ("Podman Engine"); Docker says "Engine" there and
    // its edition in Platform ("Docker Engine - Community").
    const component = body?.Components?.[0]?.Name;
    const name = component !== undefined && component !== 'Engine' ? component : (body?.Platform?.Name ?? 'Docker Engine');
    return { name, version: body?.Version ?? '?', apiVersion: body?.ApiVersion ?? '?' };
  }

  async imageExists(image: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.json('GET', `/images/${encodeURIComponent(image)}/json`, signal ? { signal } : {});
      return true;
    } catch (err) {
      if ((err as EngineError).failure === 'not_found') return false;
      throw err;
    }
  }

  /** Pulls `image`, reporting each progress line; an error line of the stream rejects. */
  async pull(image: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const { repo, tag } = splitImage(image);
    const res = await this.call('POST', '/images/create', { query: { fromImage: repo, tag }, timeoutMs: 0, ...(signal ? { signal } : {}) });
    if (res.statusCode >= 400) throw engineRefusal(res.statusCode, await res.body.text().catch(() => ''), 'pull');
    let partial = '';
    let failure: string | null = null;
    try {
      for await (const chunk of res.body) {
        const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) failure ??= progressLine(line, onProgress);
      }
    } catch (err) {
      if (signal?.aborted) throw new EngineError('aborted', 'aborted');
      throw unreachable(this.endpoint, err);
    }
    failure ??= progressLine(partial, onProgress);
    if (failure !== null) throw new EngineError('failed', `pulling ${image} failed: ${failure}`);
  }

  /** Creates a container; resolves with its id. */
  async create(name: string, body: unknown, signal?: AbortSignal): Promise<string> {
    const res = await this.json<{ Id?: string }>('POST', '/containers/create', { query: { name }, body, timeoutMs: 120_000, ...(signal ? { signal } : {}) });
    if (typeof res.body?.Id !== 'string') throw new EngineError('failed', 'the container engine did not return a container id');
    return res.body.Id;
  }

  async start(id: string, signal?: AbortSignal): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/start`, { timeoutMs: 120_000, ...(signal ? { signal } : {}) });
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const { body } = await this.json<{
      Id: string;
      State?: { Running?: boolean; ExitCode?: number };
      NetworkSettings?: { Ports?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> };
    }>('GET', `/containers/${encodeURIComponent(id)}/json`);
    return {
      id: body.Id,
      running: body.State?.Running === true,
      exitCode: typeof body.State?.ExitCode === 'number' ? body.State.ExitCode : null,
      publishedPort(port) {
        const bindings = body.NetworkSettings?.Ports?.[`${port}/tcp`] ?? [];
        for (const b of bindings) {
          const p = Number(b.HostPort);
          if (Number.isInteger(p) && p > 0 && (b.HostIp === '127.0.0.1' || b.HostIp === '' || b.HostIp === undefined)) return p;
        }
        return null;
      },
    };
  }

  /** Waits until the container is not running (a long poll); resolves with its exit code. */
  async wait(id: string, signal?: AbortSignal): Promise<number | null> {
    const { body } = await this.json<{ StatusCode?: number }>('POST', `/containers/${encodeURIComponent(id)}/wait`, {
      query: { condition: 'not-running' },
      timeoutMs: 0,
      ...(signal ? { signal } : {}),
    });
    return typeof body?.StatusCode === 'number' ? body.StatusCode : null;
  }

  /** SIGTERM (the image's stop signal), SIGKILL after `seconds`; resolves when it has stopped. */
  async stop(id: string, seconds: number): Promise<void> {
    try {
      await this.json('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: String(seconds) }, timeoutMs: (seconds + 30) * 1000 });
    } catch (err) {
      if ((err as EngineError).failure !== 'not_found') throw err;
    }
  }

  /** Removes a container, running or not, with its anonymous volumes. A missing one is not an error. */
  async remove(id: string): Promise<void> {
    try {
      await this.json('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: 'true', v: 'true' } });
    } catch (err) {
      if ((err as EngineError).failure !== 'not_found') throw err;
    }
  }

  /** The container's stdout and stderr from its start on, followed (multiplexed: see engine-stream.ts). */
  async logs(id: string, signal?: AbortSignal): Promise<Readable> {
    const res = await this.call('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: { follow: 'true', stdout: 'true', stderr: 'true' },
      timeoutMs: 0,
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode >= 400) throw engineRefusal(res.statusCode, await res.body.text().catch(() => ''), 'logs');
    return res.body;
  }

  /** Containers (running or not) carrying every one of `labels` (`key=value`). */
  async list(labels: readonly string[]): Promise<ContainerSummary[]> {
    const { body } = await this.json<Array<{ Id: string; Names?: string[]; Labels?: Record<string, string> | null; State?: string }>>(
      'GET',
      '/containers/json',
      {
        query: { all: 'true', filters: JSON.stringify({ label: labels }) },
      },
    );
    return (Array.isArray(body) ? body : []).map((c) => ({ id: c.Id, names: c.Names ?? [], labels: c.Labels ?? {}, state: c.State ?? '?' }));
  }

  /** Closes the connections; later calls fail with `aborted`. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.destroy().catch(() => undefined);
  }
}

/** One line of a pull's progress stream: reported, or its error returned. */
function progressLine(line: string, onProgress: (p: PullProgress) => void): string | null {
  if (line.trim() === '') return null;
  let p: { status?: string; id?: string; progress?: string; error?: string; errorDetail?: { message?: string } };
  try {
    p = JSON.parse(line) as typeof p;
  } catch {
    return null;
  }
  if (typeof p.error === 'string' || p.errorDetail?.message) return short(p.error ?? p.errorDetail?.message ?? 'error');
  if (typeof p.status === 'string') onProgress({ status: p.status, ...(p.id ? { id: p.id } : {}), ...(p.progress ? { progress: p.progress } : {}) });
  return null;
}

/** The engine's answer to a refused call, as an EngineError with its (short) message. */
function engineRefusal(status: number, text: string, what: string): EngineError {
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: string };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: the text itself
  }
  const failure: EngineFailure = status === 404 ? 'not_found' : status === 409 ? 'conflict' : status < 500 ? 'refused' : 'failed';
  return new EngineError(failure, `${what}: ${short(message) || `status ${status}`}`, status);
}

/** An engine's message cut to one line of reasonable length. */
function short(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
