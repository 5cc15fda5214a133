/**
 * What a `container` service is, once checked: the image, its arguments and the limits it runs
 * under, with the rules the schema cannot say. Refuses what would make the container root on the
 * host (privileged, host PID/IPC namespaces, dangerous capabilities). Pure; no I/O (the host paths
 * are checked at boot by supervisor/container-host.ts).
 */
import type { ContainerSpecKeys } from '../../config/sections/containers.js';

export interface VolumeSpec {
  host: string;
  container: string;
  readOnly: boolean;
}

/** A checked container definition: every key present. */
export interface ContainerDefinition {
  image: string;
  /** CMD, or null to keep the image's. */
  args: string[] | null;
  entrypoint: string[] | null;
  /** The port the service listens on inside the container. */
  port: number;
  gpus: 'all' | number | string[] | null;
  devices: string[];
  volumes: VolumeSpec[];
  shmSizeBytes: number | null;
  memoryBytes: number | null;
  cpus: number | null;
  user: string | null;
  readOnlyRootfs: boolean;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  network: string;
  pull: 'missing' | 'never';
}

/** Keys that only a container service has (a command or url service carrying one is refused). */
export const CONTAINER_ONLY_KEYS = [
  'image',
  'args',
  'entrypoint',
  'port',
  'gpus',
  'devices',
  'volumes',
  'shmSize',
  'memory',
  'cpus',
  'user',
  'capAdd',
  'privileged',
  'pid',
  'ipc',
] as const satisfies ReadonlyArray<keyof ContainerSpecKeys>;

/**
 * Capabilities that open the way out of a container: SYS_ADMIN (mount, namespaces: the classic
 * breakouts), SYS_MODULE (load a kernel module), SYS_PTRACE (into host processes sharing a
 * namespace), SYS_RAWIO (raw I/O ports and devices), DAC_READ_SEARCH (open_by_handle_at: the
 * "shocker" escape that reads any host file), and ALL of them.
 */
const REFUSED_CAPS = new Set(['ALL', 'SYS_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_RAWIO', 'DAC_READ_SEARCH']);

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `8g` -> 8589934592, `512m`, `1048576`; null for undefined. As `docker run` reads sizes (powers of 1024). */
export function parseSize(text: string | undefined): number | null {
  if (text === undefined) return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)([bkmgt]?)$/i.exec(text);
  if (!m) return NaN;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase() || 'b'] as number));
}

/**
 * Checks the container keys of a `container` service; `invalid` throws with the key named. The
 * caller has already refused a container service from anywhere but the config file.
 */
export function checkContainer(spec: ContainerSpecKeys, invalid: (why: string) => never): ContainerDefinition {
  if (spec.image === undefined) invalid('a container service needs `image`');
  if (spec.port === undefined) invalid('a container service needs `port` (the port it listens on inside the container)');
  // Root on the host, by design: every device, every capability, no seccomp or AppArmor.
  if (spec.privileged === true) invalid('privileged: a privileged container is root on the host; moat refuses it (give it `devices` or `gpus` instead)');
  if (spec.pid === 'host') invalid('pid: "host" lets the container see, trace and signal every process of the host; moat refuses it');
  if (spec.ipc === 'host') invalid('ipc: "host" shares the shared memory and semaphores of every process of the host; moat refuses it');
  for (const [key, value] of [
    ['pid', spec.pid],
    ['ipc', spec.ipc],
  ] as const) {
    if (value !== undefined && value !== 'private' && !(key === 'ipc' && (value === 'shareable' || value === 'none'))) {
      invalid(
        `${key}: ${JSON.stringify(value)} is not allowed (only "private"${key === 'ipc' ? ', "shareable" or "none"' : ''}); joining another namespace is refused`,
      );
    }
  }
  for (const cap of spec.capAdd ?? []) {
    if (REFUSED_CAPS.has(cap.replace(/^CAP_/, ''))) invalid(`capAdd: ${cap} opens the way out of the container; moat refuses it`);
  }
  const network = spec.network ?? 'bridge';
  // `none` has no port to reach; `container:<id>` (refused by the pattern) would join another's namespace.
  if (network === 'none') invalid('network: "none" leaves moat no way to reach the service');
  const shm = parseSize(spec.shmSize);
  const memory = parseSize(spec.memory);
  if (Number.isNaN(shm) || Number.isNaN(memory)) invalid('shmSize and memory are sizes like 512m or 8g');
  if (memory !== null && memory < 6 * 1024 ** 2) invalid('memory: below 6m no container starts');
  const targets = new Set<string>();
  for (const v of spec.volumes ?? []) {
    if (/(^|\/)\.\.?(\/|$)/.test(v.host) || /(^|\/)\.\.?(\/|$)/.test(v.container))
      invalid(`volumes: ${JSON.stringify(v.host)} -> ${JSON.stringify(v.container)} has . or .. segments`);
    if (v.container === '/') invalid('volumes: nothing can be mounted over / of the container');
    if (targets.has(v.container)) invalid(`volumes: ${v.container} is mounted twice`);
    targets.add(v.container);
  }
  for (const d of spec.devices ?? []) if (/(^|\/)\.\.?(\/|$)/.test(d)) invalid(`devices: ${JSON.stringify(d)} has . or .. segments`);
  return {
    image: spec.image as string,
    args: spec.args ? [...spec.args] : null,
    entrypoint: spec.entrypoint ? [...spec.entrypoint] : null,
    port: spec.port as number,
    gpus: spec.gpus === undefined ? null : Array.isArray(spec.gpus) ? [...spec.gpus] : spec.gpus,
    devices: [...(spec.devices ?? [])],
    volumes: (spec.volumes ?? []).map((v) => ({ host: v.host.replace(/\/+$/, '') || '/', container: v.container, readOnly: v.readOnly === true })),
    shmSizeBytes: shm,
    memoryBytes: memory,
    cpus: spec.cpus ?? null,
    user: spec.user ?? null,
    readOnlyRootfs: spec.readOnlyRootfs === true,
    capDrop: [...(spec.capDrop ?? ['ALL'])],
    capAdd: [...(spec.capAdd ?? [])],
    securityOpt: [...(spec.securityOpt ?? ['no-new-privileges'])],
    network,
    pull: spec.pull ?? 'missing',
  };
}

/** The definition back as config keys (for toSpec). */
export function containerToSpec(c: ContainerDefinition): ContainerSpecKeys {
  const out: ContainerSpecKeys = {
    image: c.image,
    port: c.port,
    network: c.network,
    pull: c.pull,
    readOnlyRootfs: c.readOnlyRootfs,
    capDrop: [...c.capDrop],
    securityOpt: [...c.securityOpt],
  };
  if (c.args) out.args = [...c.args];
  if (c.entrypoint) out.entrypoint = [...c.entrypoint];
  if (c.gpus !== null) out.gpus = Array.isArray(c.gpus) ? [...c.gpus] : c.gpus;
  if (c.devices.length > 0) out.devices = [...c.devices];
  if (c.volumes.length > 0) out.volumes = c.volumes.map((v) => ({ ...v }));
  if (c.shmSizeBytes !== null) out.shmSize = String(c.shmSizeBytes);
  if (c.memoryBytes !== null) out.memory = String(c.memoryBytes);
  if (c.cpus !== null) out.cpus = c.cpus;
  if (c.user !== null) out.user = c.user;
  if (c.capAdd.length > 0) out.capAdd = [...c.capAdd];
  return out;
}
