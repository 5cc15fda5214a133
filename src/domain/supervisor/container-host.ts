/**
 * The boot checks of container services that need the host: the engine endpoint parses, every
 * volume's host path exists, and nothing hands a container the engine's own socket (or a
 * directory holding it) or moat's data dir. Throws config_invalid (exit 78) with the key named,
 * before any socket opens. Reads the filesystem; changes nothing.
 */
import { realpathSync, type Stats, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEngineEndpoint } from '../../egress/engine.js';
import { GatewayError } from '../../errors.js';
import type { ServiceDefinition } from '../services/spec.js';

export interface ContainerHostCheck {
  /** supervisor.containers.socket */
  socket: string;
  dataDir: string;
  /** For the rootless sockets under /run/user/<uid>. Default: process.getuid(). */
  uid?: number;
}

/** The engine sockets of a host besides the configured one (Docker, rootful and rootless Podman, containerd). */
function knownSockets(uid: number): string[] {
  return [
    '/var/run/docker.sock',
    '/run/docker.sock',
    '/run/podman/podman.sock',
    '/var/run/podman/podman.sock',
    '/run/containerd/containerd.sock',
    '/var/run/containerd/containerd.sock',
    `/run/user/${uid}/docker.sock`,
    `/run/user/${uid}/podman/podman.sock`,
  ];
}

/** The path and, when it exists, where it really is. */
function spellings(path: string): string[] {
  const lexical = resolve(path);
  try {
    const real = realpathSync(lexical);
    return real === lexical ? [lexical] : [lexical, real];
  } catch {
    return [lexical];
  }
}

/** Whether `outer` is `inner` or one of its ancestors. */
function holds(outer: string, inner: string): boolean {
  return outer === inner || outer === '/' || inner.startsWith(`${outer}/`);
}

export function checkContainerHost(defs: readonly ServiceDefinition[], opts: ContainerHostCheck): void {
  const endpoint = parseEngineEndpoint(opts.socket);
  const containers = defs.filter((d) => d.container !== null);
  if (containers.length === 0) return;
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const sockets = [...new Set([...(endpoint.socketPath ? [endpoint.socketPath] : []), ...knownSockets(uid)].flatMap(spellings))];
  const dataDir = spellings(opts.dataDir);
  for (const def of containers) {
    const c = def.container as NonNullable<ServiceDefinition['container']>;
    const refuse = (key: string, why: string): never => {
      throw new GatewayError('config_invalid', `services[${JSON.stringify(def.name)}].${key} ${why}`);
    };
    c.volumes.forEach((v, i) => {
      const key = `volumes[${i}].host`;
      let st: Stats | undefined;
      try {
        st = statSync(v.host);
      } catch (err) {
        // A socket that is absent now may appear later: the engine's is refused whether it exists or not.
        if (!sockets.some((s) => holds(resolve(v.host), s)))
          refuse(key, `${v.host} does not exist (${(err as NodeJS.ErrnoException).code ?? 'error'}); create it or fix the path`);
      }
      const host = spellings(v.host);
      // Root on the host: a container that holds the engine's socket starts a privileged container of its own.
      const socket = sockets.find((s) => host.some((h) => holds(h, s)));
      if (socket !== undefined)
        refuse(
          key,
          `${v.host} ${host.some((h) => h === socket) ? 'is' : 'holds'} the container engine's socket (${socket}): a container with it controls the engine, which is root on the host; moat refuses it`,
        );
      if (st?.isSocket()) refuse(key, `${v.host} is a unix socket: moat does not hand sockets to containers (an engine's or moat's own)`);
      // moat's data dir holds the admin token and the keys: a service must not read (or write) them.
      if (host.some((h) => dataDir.some((d) => holds(h, d) || holds(d, h))))
        refuse(key, `${v.host} overlaps moat's data dir (tokens and keys); moat refuses it`);
    });
    c.devices.forEach((d, i) => {
      const path = spellings(d);
      if (sockets.some((s) => path.includes(s))) refuse(`devices[${i}]`, `${d} is the container engine's socket; moat refuses it`);
      try {
        if (statSync(d).isSocket()) refuse(`devices[${i}]`, `${d} is a unix socket, not a device; moat refuses it`);
      } catch (err) {
        if ((err as { code?: string }).code === 'config_invalid') throw err;
        // A device that is absent now (a GPU not yet up) is for the engine to report at start.
      }
    });
  }
}
