/**
 * Copy-paste lines the CLI prints for the next step: a `curl` command that works as printed
 * against the gateway the client talks to (with `--cacert` for the self-signed certificate).
 * Never puts a secret on the line: tokens appear as `$TOKEN` for the reader to fill in.
 */
import { existsSync } from 'node:fs';
import { dataDirPaths } from '../api/data-dir.js';

/** Single-quotes a value for a POSIX shell when it holds anything but safe characters. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface CurlOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A JSON body (sent with Content-Type: application/json). */
  json?: unknown;
  /** The data dir whose tls/cert.pem verifies an https gateway (the self-signed certificate). */
  dataDir?: string | undefined;
}

/** `curl ... <url>` for `gatewayUrl` + `path`. */
export function curlCommand(gatewayUrl: string, path: string, opts: CurlOptions = {}): string {
  const parts = ['curl'];
  // The self-signed certificate verifies the gateway (an operator's own certificate needs nothing).
  const cert = opts.dataDir === undefined ? undefined : dataDirPaths(opts.dataDir).tlsCert;
  if (gatewayUrl.startsWith('https:') && cert !== undefined && existsSync(cert)) parts.push('--cacert', shellQuote(cert));
  if (opts.method && opts.method !== 'GET') parts.push('-X', opts.method);
  for (const [name, value] of Object.entries(opts.headers ?? {}))
    parts.push('-H', value.includes('$') ? `"${name}: ${value}"` : shellQuote(`${name}: ${value}`));
  if (opts.json !== undefined) parts.push('-H', shellQuote('Content-Type: application/json'), '-d', shellQuote(JSON.stringify(opts.json)));
  parts.push(shellQuote(`${gatewayUrl.replace(/\/$/, '')}${path}`));
  return parts.join(' ');
}
