/**
 * Typed HTTP client for a running gateway. Finds the URL, admin token and TLS fingerprint in the
 * data dir (or takes them as overrides) and pins the certificate by its SHA-256 fingerprint: no
 * `-k`, no trust-on-first-use prompts. Imports the import-free api/ only (the data dir's names),
 * never server code.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Agent, Dispatcher } from 'undici';
import { exchange, normalizeFingerprint, type Exchange } from './transport.js';
import { dataDirPaths, type GatewayFile } from '../api/data-dir.js';
import type { Problem } from '../api/problem.js';

/** undici is required by the first event stream only (short requests use node:http, see transport.ts). */
const requireUndici = createRequire(import.meta.url);
const undici = () => requireUndici('undici') as typeof import('undici');

export const DEFAULT_DATA_DIR = '~/.moat';

/** The largest event (or unterminated line) a stream may buffer: a server that never ends one cannot fill memory. */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export function resolveDataDir(dir: string | undefined): string {
  const d = dir ?? DEFAULT_DATA_DIR;
  if (d === '~') return homedir();
  return d.startsWith('~/') ? join(homedir(), d.slice(2)) : resolve(d);
}

/** A problem response (or a failure to reach the gateway), with the server's stable code. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: string,
    readonly status: number,
    readonly detail: string,
    readonly body?: unknown,
  ) {
    super(detail);
  }
}

export interface ClientOptions {
  dataDir?: string | undefined;
  /** Gateway URL; default: the one in <dataDir>/gateway.json. */
  gateway?: string | undefined;
  /** Bearer token; default: <dataDir>/gateway-token. */
  token?: string | undefined;
  /** Expected SHA-256 certificate fingerprint for https; default: the one in gateway.json. */
  fingerprint?: string | undefined;
}

export interface Response<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** gateway.json as found: whatever a gateway (of any version) wrote, so every member may be missing. */
function readGatewayFile(dataDir: string): Partial<GatewayFile> | undefined {
  try {
    return JSON.parse(readFileSync(dataDirPaths(dataDir).gatewayFile, 'utf8')) as Partial<GatewayFile>;
  } catch {
    return undefined;
  }
}

/** An undici connector that completes TLS, then checks the leaf certificate's fingerprint. */
function pinnedAgent(fingerprint: string): Agent {
  const expected = normalizeFingerprint(fingerprint);
  return new (undici().Agent)({
    connect: (opts, callback) => {
      const socket = tls.connect({
        host: opts.hostname,
        port: Number(opts.port),
        ...(isIP(opts.hostname) ? {} : { servername: opts.servername ?? opts.hostname }),
        rejectUnauthorized: false, // the pin below replaces chain validation for this one certificate
        ALPNProtocols: ['http/1.1'],
        minVersion: 'TLSv1.3',
      });
      socket.once('secureConnect', () => {
        const actual = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
        if (actual !== expected) {
          socket.destroy();
          callback(new ClientError('tls_fingerprint_mismatch', 0, `the gateway's certificate fingerprint is ${actual}, expected ${expected}`), null);
          return;
        }
        callback(null, socket);
      });
      socket.once('error', (err) => callback(err, null));
    },
  });
}

export class MoatClient {
  readonly url: string;
  readonly token: string | undefined;
  /** The data dir it read (gateway.json, gateway-token): its tls/cert.pem verifies a self-signed gateway. */
  readonly dataDir: string;
  private readonly fingerprint: string | undefined;
  /** For event streams over https (built on first use). */
  private dispatcherValue: Dispatcher | undefined;

  constructor(opts: ClientOptions = {}) {
    const dataDir = (this.dataDir = resolveDataDir(opts.dataDir));
    const file = readGatewayFile(dataDir);
    const url = opts.gateway ?? file?.url;
    if (!url)
      throw new ClientError('gateway_not_found', 0, `no running gateway found in ${dataDir} (no gateway.json); start one with moat serve or pass --gateway`);
    this.url = url.replace(/\/$/, '');
    this.token = opts.token ?? readToken(dataDir);
    if (this.url.startsWith('https:')) {
      const fp = opts.fingerprint ?? (file?.url === url ? (file.tlsFingerprint ?? undefined) : undefined);
      if (!fp)
        throw new ClientError('tls_fingerprint_unknown', 0, `no certificate fingerprint known for ${this.url}; pass --fingerprint (moat serve prints it)`);
      this.fingerprint = fp;
    }
  }

  private get dispatcher(): Dispatcher | undefined {
    if (this.fingerprint !== undefined) this.dispatcherValue ??= pinnedAgent(this.fingerprint);
    return this.dispatcherValue;
  }

  /** `raw` sends exactly these bytes with this Content-Type (a signed hook delivery) instead of JSON. */
  async request<T = unknown>(
    method: string,
    path: string,
    opts: { body?: unknown; raw?: { body: string | Buffer; contentType: string }; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (opts.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw.body;
      headers['content-type'] = opts.raw.contentType;
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    let res: Exchange;
    try {
      res = await exchange(`${this.url}${path}`, { method, headers, body, fingerprint: this.fingerprint });
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code === 'tls_fingerprint_mismatch') throw new ClientError('tls_fingerprint_mismatch', 0, e.message);
      throw new ClientError('gateway_unreachable', 0, `cannot reach the gateway at ${this.url}: ${e.message}`);
    }
    const text = res.text;
    let parsed: unknown = text;
    if (text !== '' && String(res.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(text);
    if (res.statusCode >= 400) {
      const p = parsed as Partial<Problem>;
      throw new ClientError(p?.code ?? 'http_error', res.statusCode, p?.detail ?? `HTTP ${res.statusCode}`, parsed);
    }
    return { status: res.statusCode, headers: res.headers, body: parsed as T };
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path).then((r) => r.body);
  }
  post<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, { body, ...(headers ? { headers } : {}) }).then((r) => r.body);
  }
  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path).then((r) => r.body);
  }

  /**
   * Follows a Server-Sent Events stream, calling `onEvent` per event until `onEvent` returns true,
   * the stream ends, or `signal` aborts. Returns the id of the last event seen.
   */
  async events(
    path: string,
    onEvent: (e: { id: string | null; event: string; data: unknown }) => boolean | undefined,
    opts: { lastEventId?: string; signal?: AbortSignal; onOpen?: () => void } = {},
  ): Promise<string | null> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
    let res: Dispatcher.ResponseData;
    try {
      res = await undici().request(`${this.url}${path}`, { method: 'GET', headers, dispatcher: this.dispatcher, signal: opts.signal, bodyTimeout: 0 });
    } catch (err) {
      if (err instanceof ClientError) throw err;
      throw new ClientError('gateway_unreachable', 0, `cannot reach the gateway at ${this.url}: ${(err as Error).message}`);
    }
    if (res.statusCode >= 400) {
      const p = (await res.body.json().catch(() => ({}))) as Partial<Problem>;
      throw new ClientError(p.code ?? 'http_error', res.statusCode, p.detail ?? `HTTP ${res.statusCode}`);
    }
    opts.onOpen?.();
    let lastId: string | null = opts.lastEventId ?? null;
    // The stream is decoded as one UTF-8 text (a character split across chunks is joined, not
    // replaced), and framed by a maintained parser: lines end in LF, CRLF or CR (WHATWG HTML 9.2.6).
    const decoder = new TextDecoder('utf-8');
    const pending: EventSourceMessage[] = [];
    let overflow = false;
    const parser = createParser({
      onEvent: (e) => pending.push(e),
      onError: (e) => {
        if (e.type === 'max-buffer-size-exceeded') overflow = true;
      },
      maxBufferSize: MAX_EVENT_CHARS,
    });
    let endsWithCr = false;
    const feed = (text: string): void => {
      if (text === '') return;
      parser.feed(text);
      endsWithCr = text.charCodeAt(text.length - 1) === 13;
      if (overflow) {
        res.body.destroy();
        throw new ClientError('stream_too_large', 0, `an event of the stream at ${path} is larger than ${MAX_EVENT_CHARS} characters`);
      }
    };
    try {
      for await (const chunk of res.body) {
        feed(decoder.decode(chunk as Buffer, { stream: true }));
        for (let e = pending.shift(); e !== undefined; e = pending.shift()) {
          if (e.id !== undefined) lastId = e.id;
          if (onEvent(toEvent(e)) === true) {
            res.body.destroy();
            return lastId;
          }
        }
      }
      // The stream ended. A final CR ended its line (the parser waits to see whether LF follows):
      // an LF now makes it the CRLF it may have been, which ends no further line.
      feed(decoder.decode());
      if (endsWithCr) feed('\n');
      for (let e = pending.shift(); e !== undefined; e = pending.shift()) {
        if (e.id !== undefined) lastId = e.id;
        if (onEvent(toEvent(e)) === true) return lastId;
      }
    } catch (err) {
      if (err instanceof ClientError) throw err;
      if (!opts.signal?.aborted && !(err as { name?: string }).name?.includes('Abort')) throw err;
    }
    return lastId;
  }

  async close(): Promise<void> {
    await this.dispatcherValue?.close();
  }
}

/** An event as the client's callers see it: `message` when unnamed, its data parsed when it is JSON. */
function toEvent(e: EventSourceMessage): { id: string | null; event: string; data: unknown } {
  let data: unknown = e.data;
  try {
    data = JSON.parse(e.data);
  } catch {
    // plain text data
  }
  return { id: e.id ?? null, event: e.event ?? 'message', data };
}

function readToken(dataDir: string): string | undefined {
  try {
    return readFileSync(dataDirPaths(dataDir).adminToken, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
