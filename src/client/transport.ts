/**
 * One request/response exchange with a gateway over node:http, for the CLI's short commands: no
 * HTTP library to load, so `moat status` starts in a fraction of the time. Over https the
 * certificate is pinned by its SHA-256 fingerprint *before* anything is sent: the bearer token
 * never reaches a server that is not the one gateway.json names (a local impostor on the port).
 */
import http from 'node:http';
import { isIP } from 'node:net';
import tls from 'node:tls';

export interface Exchange {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export const normalizeFingerprint = (fp: string) => fp.replace(/:/g, '').toUpperCase();

/** A TLS connection whose leaf certificate has the expected fingerprint, or a rejection. */
export function pinnedSocket(url: URL, fingerprint: string): Promise<tls.TLSSocket> {
  const expected = normalizeFingerprint(fingerprint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false, // the pin below replaces chain validation for this one certificate
      ALPNProtocols: ['http/1.1'],
      minVersion: 'TLSv1.3',
    });
    socket.once('secureConnect', () => {
      const actual = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
      if (actual !== expected) {
        socket.destroy();
        reject(Object.assign(new Error(`the gateway's certificate fingerprint is ${actual}, expected ${expected}`), { code: 'tls_fingerprint_mismatch' }));
        return;
      }
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends one request and reads the whole answer. Connection failures reject with the socket's error. */
export async function exchange(
  target: string,
  opts: { method: string; headers: Record<string, string>; body?: string | Buffer | undefined; fingerprint?: string | undefined },
): Promise<Exchange> {
  const url = new URL(target);
  const socket = url.protocol === 'https:' ? await pinnedSocket(url, opts.fingerprint ?? '') : undefined;
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        path: `${url.pathname}${url.search}`,
        method: opts.method,
        headers: { host: url.host, ...headers },
        // An agent would open its own (plain) connection: the pinned socket is used as it is.
        ...(socket ? { createConnection: () => socket } : { agent: false }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
