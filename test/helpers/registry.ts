/**
 * A tiny image registry (Docker Registry HTTP API v2, plain HTTP on 127.0.0.1) serving one OCI
 * image built from the busybox rootfs, so that a real engine can pull without the internet. It can
 * also hang (accept and never answer) or refuse every manifest, for pulls that stall or fail.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpDir } from './gateway.js';
import { buildRootfsTar } from './podman.js';

/** The one repository it holds (anything else is MANIFEST_UNKNOWN). */
export const IMAGE_NAME = 'moat/bb';

export type RegistryMode = 'serve' | 'hang' | 'missing';

export interface Registry {
  /** host:port (for registries.conf and image names). */
  host: string;
  /** Requests seen (method and path). */
  seen: string[];
  setMode(mode: RegistryMode): void;
  close(): Promise<void>;
}

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startRegistry(): Promise<Registry> {
  const layer = readFileSync(buildRootfsTar(tmpDir('moat-registry-')));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [digest(layer)] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
    }),
  );
  const blobs = new Map([
    [digest(layer), layer],
    [digest(config), config],
  ]);
  let mode: RegistryMode = 'serve';
  const seen: string[] = [];
  const send = (res: ServerResponse, head: boolean, status: number, type: string, body: Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'content-length': body.length, 'docker-distribution-api-version': 'registry/2.0', ...extra });
    res.end(head ? undefined : body);
  };
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (mode === 'hang') return; // the socket stays open, unanswered
    const head = req.method === 'HEAD';
    const url = req.url ?? '/';
    if (url === '/v2/' || url === '/v2') return send(res, head, 200, 'application/json', Buffer.from('{}'));
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
    if (m && m[1] === IMAGE_NAME && m[2] === 'manifests' && mode === 'serve') {
      return send(res, head, 200, 'application/vnd.oci.image.manifest.v1+json', manifest, { 'docker-content-digest': digest(manifest) });
    }
    const blob = m && m[2] === 'blobs' ? blobs.get(decodeURIComponent(m[3] as string)) : undefined;
    if (blob && mode === 'serve') return send(res, head, 200, 'application/octet-stream', blob, { 'docker-content-digest': digest(blob) });
    send(res, head, 404, 'application/json', Buffer.from(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    setMode: (m) => void (mode = m),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
