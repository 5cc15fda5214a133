/**
 * The Engine API's `POST /containers/create` body for a container service: the image and its argv,
 * the port published on 127.0.0.1 only (never 0.0.0.0), moat's labels, GPUs as `docker run --gpus`
 * sends them, mounts, limits and the hardening defaults. Pure data; the engine call is elsewhere.
 */
import type { ContainerDefinition } from '../services/container-spec.js';

/** The labels that make a container moat's (orphan sweep: only containers carrying all three). */
export const LABEL_MANAGED = 'moat.managed';
export const LABEL_SERVICE = 'moat.service';
export const LABEL_INSTANCE = 'moat.instance';

export interface DeviceRequest {
  Driver: string;
  Count?: number;
  DeviceIDs?: string[];
  Capabilities: string[][];
}

/** `gpus` as `docker run --gpus` turns it into device requests (NVIDIA driver, `gpu` capability). */
export function deviceRequests(gpus: ContainerDefinition['gpus']): DeviceRequest[] {
  if (gpus === null) return [];
  if (gpus === 'all') return [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];
  if (typeof gpus === 'number') return [{ Driver: 'nvidia', Count: gpus, Capabilities: [['gpu']] }];
  return [{ Driver: 'nvidia', DeviceIDs: [...gpus], Capabilities: [['gpu']] }];
}

export interface CreateBodyInput {
  service: string;
  instance: string;
  container: ContainerDefinition;
  /** The service's env (moat's own environment is never passed into a container). */
  env: Readonly<Record<string, string>>;
}

export function createBody(input: CreateBodyInput): Record<string, unknown> {
  const c = input.container;
  const port = `${c.port}/tcp`;
  const host = c.network === 'host';
  const hostConfig: Record<string, unknown> = {
    NetworkMode: c.network,
    // Loopback only, on a port the engine picks: the service is reached through moat, never around it.
    ...(host ? {} : { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } }),
    RestartPolicy: { Name: 'no' },
    AutoRemove: false,
    Privileged: false,
    ReadonlyRootfs: c.readOnlyRootfs,
    CapDrop: [...c.capDrop],
    ...(c.capAdd.length > 0 ? { CapAdd: [...c.capAdd] } : {}),
    SecurityOpt: [...c.securityOpt],
    Mounts: c.volumes.map((v) => ({ Type: 'bind', Source: v.host, Target: v.container, ReadOnly: v.readOnly })),
    Devices: c.devices.map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
    ...(c.gpus !== null ? { DeviceRequests: deviceRequests(c.gpus) } : {}),
    ...(c.shmSizeBytes !== null ? { ShmSize: c.shmSizeBytes } : {}),
    ...(c.memoryBytes !== null ? { Memory: c.memoryBytes } : {}),
    ...(c.cpus !== null ? { NanoCpus: Math.round(c.cpus * 1e9) } : {}),
  };
  return {
    Image: c.image,
    ...(c.args !== null ? { Cmd: [...c.args] } : {}),
    ...(c.entrypoint !== null ? { Entrypoint: [...c.entrypoint] } : {}),
    Env: Object.entries(input.env)
      .filter(([k]) => !k.startsWith('MOAT_'))
      .map(([k, v]) => `${k}=${v}`),
    ...(c.user !== null ? { User: c.user } : {}),
    ...(host ? {} : { ExposedPorts: { [port]: {} } }),
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVICE]: input.service, [LABEL_INSTANCE]: input.instance },
    HostConfig: hostConfig,
  };
}
