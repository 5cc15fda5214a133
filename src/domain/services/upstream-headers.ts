/**
 * Headers moat adds to every request it sends a service (`upstreamHeaders`): the key of a model
 * server started with `--api-key`, so that a client reaches it without ever holding that key.
 * Checks the sources (pure), reads the values once at boot (a file, mode-checked like the token
 * file, or a variable of moat's environment), and puts them on outgoing headers. The values live
 * only inside an UpstreamHeaders object: never shown by the API, logged or audited.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GatewayError } from '../../errors.js';

export interface HeaderSource {
  file?: string;
  env?: string;
  prefix?: string;
}

/**
 * Names moat sets itself or that frame the message: a header here would let the operator's config
 * break the exchange (request smuggling with a second length, a Host that leaves the baseUrl) or
 * pose as moat's own claims (X-Forwarded-*, the job headers), so none may be set this way.
 */
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
]);

/** Largest key file read (a key is a few hundred bytes; this is not a place for certificates). */
const MAX_FILE_BYTES = 16_384;

/** A field value (RFC 9110 5.5): visible characters, spaces and tabs; never CR, LF or NUL (header injection). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Checks the sources of a service's upstream headers; returns them keyed by lower-case name. Pure. */
export function checkHeaderSources(raw: Record<string, HeaderSource> | undefined, refuse: (why: string) => never): Record<string, HeaderSource> {
  const out: Record<string, HeaderSource> = {};
  for (const [name, source] of Object.entries(raw ?? {})) {
    const lower = name.toLowerCase();
    if (RESERVED.has(lower) || lower.startsWith('x-moat-') || lower.startsWith('proxy-'))
      refuse(`upstreamHeaders: ${name} is set by moat itself or frames the message; it cannot be added`);
    if (out[lower] !== undefined) refuse(`upstreamHeaders: ${name} is given twice`);
    if ((source.file === undefined) === (source.env === undefined)) refuse(`upstreamHeaders.${name}: give exactly one of \`file\` or \`env\``);
    // The admin token (MOAT_TOKEN) and every other setting of moat's: a service never gets them (services.md).
    if (source.env?.toUpperCase().startsWith('MOAT_')) refuse(`upstreamHeaders.${name}: ${source.env} is moat's own setting and is never sent to a service`);
    if (source.prefix !== undefined && !FIELD_VALUE.test(source.prefix)) refuse(`upstreamHeaders.${name}: the prefix has control characters`);
    out[lower] = { ...source };
  }
  return out;
}

/** The resolved headers of one service. Its values are private; printing it shows the names only. */
export class UpstreamHeaders {
  static readonly none = new UpstreamHeaders([]);
  readonly #pairs: ReadonlyArray<readonly [string, string]>;
  /** Lower-case names, for the API view. */
  readonly names: readonly string[];

  constructor(pairs: ReadonlyArray<readonly [string, string]>) {
    this.#pairs = pairs;
    this.names = Object.freeze(pairs.map(([n]) => n).sort());
  }

  get size(): number {
    return this.#pairs.length;
  }

  /**
   * The outgoing headers with ours set: a client's header of the same name (any case) is dropped
   * first, so that a client can neither replace the key nor send a second one beside it.
   */
  apply(headers: Record<string, string | string[]>): Record<string, string | string[]> {
    if (this.#pairs.length === 0) return headers;
    const out: Record<string, string | string[]> = {};
    const ours = new Set(this.names);
    for (const name in headers) if (!ours.has(name.toLowerCase())) out[name] = headers[name] as string | string[];
    for (const [name, value] of this.#pairs) out[name] = value;
    return out;
  }

  /** apply() over a flat list (name, value, ...) of lower-case names, in place; returns the list. */
  applyList(list: Array<string | string[]>): Array<string | string[]> {
    if (this.#pairs.length === 0) return list;
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (this.names.includes((list[r] as string).toLowerCase())) continue;
      list[w++] = list[r] as string;
      list[w++] = list[r + 1] as string | string[];
    }
    list.length = w;
    for (const [name, value] of this.#pairs) list.push(name, value);
    return list;
  }

  /** Logging or serialising it by mistake shows names only. */
  toJSON(): { names: readonly string[] } {
    return { names: this.names };
  }
}

/** The one function the proxy, the prober and job dispatch call: `headers` with the service's own added. */
export function withUpstreamHeaders(headers: Record<string, string | string[]>, upstream: UpstreamHeaders): Record<string, string | string[]> {
  return upstream.apply(headers);
}

/**
 * Reads a key file. Mode-checked like the token file: one readable or writable by group or others
 * has leaked (or can be swapped), so the boot is refused until it is 0600 (or 0400).
 */
function readKeyFile(path: string, label: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new GatewayError('config_invalid', `${label}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new GatewayError('config_invalid', `${label}: ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new GatewayError('config_invalid', `${label}: ${path} is open to others (mode 0${(st.mode & 0o777).toString(8)}); chmod 600 ${path}`);
    }
    if (st.size > MAX_FILE_BYTES) throw new GatewayError('config_invalid', `${label}: ${path} is over ${MAX_FILE_BYTES} bytes; it should hold one key`);
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Resolves a service's header sources: files are read and environment variables looked up once,
 * at boot. Refuses (config_invalid, exit 78) a missing, empty or widely readable source and a
 * value that is not a valid field value. The refusal names the header and the source, never a value.
 */
export function loadUpstreamHeaders(
  service: string,
  sources: Record<string, HeaderSource>,
  env: Readonly<Record<string, string | undefined>>,
): UpstreamHeaders {
  const pairs: Array<[string, string]> = [];
  for (const [name, source] of Object.entries(sources)) {
    const label = `services: ${JSON.stringify(service)}: upstreamHeaders.${name}`;
    let raw: string;
    if (source.file !== undefined) {
      raw = readKeyFile(source.file, label);
    } else {
      const v = env[source.env as string];
      if (v === undefined || v === '') throw new GatewayError('config_invalid', `${label}: the environment variable ${source.env} is not set`);
      raw = v;
    }
    // A trailing newline (echo "$KEY" > file) is not part of the key.
    const value = raw.replace(/[\r\n]+$/, '').trim();
    if (value === '') throw new GatewayError('config_invalid', `${label}: ${source.file ?? source.env} is empty`);
    if (!FIELD_VALUE.test(value))
      throw new GatewayError('config_invalid', `${label}: ${source.file ?? source.env} holds control characters or line breaks; it must be one line`);
    pairs.push([name, `${source.prefix ?? ''}${value}`]);
  }
  return pairs.length === 0 ? UpstreamHeaders.none : new UpstreamHeaders(pairs);
}
