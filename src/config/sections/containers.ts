/**
 * Config of `container` services: the keys a container service adds to a service entry (config
 * file only: the engine's socket is root-equivalent) and `supervisor.containers` (the engine's
 * endpoint). Schema only; the rules the schema cannot say (privileged, host namespaces, mounts of
 * the engine's socket) are checked at boot by domain/services/container-spec.ts and
 * domain/supervisor/container-host.ts (exit 78).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

/** An image reference: [registry[:port]/]repo[:tag][@sha256:digest]. No spaces, no shell. */
const IMAGE_PATTERN = '^[a-z0-9][a-zA-Z0-9._/:@-]{0,254}$';
/** `8g`, `512m`, `1048576` (bytes), as `docker run --memory/--shm-size` spell them. */
export const SIZE_PATTERN = '^[0-9]{1,15}(\\.[0-9]{1,3})?[bkmgtBKMGT]?$';
const ABSOLUTE_PATH = '^/';

/** The keys of a container service (operator only), to spread into the service object. */
export function containerKeys() {
  const opt = <T extends TSchema>(schema: T) => Type.Optional(schema);
  const volume = Type.Object(
    {
      host: Type.String({ pattern: ABSOLUTE_PATH, minLength: 1, maxLength: 4096, description: 'Absolute path on the host; must exist at boot.' }),
      container: Type.String({ pattern: ABSOLUTE_PATH, minLength: 1, maxLength: 4096, description: 'Absolute path in the container.' }),
      readOnly: opt(Type.Boolean({ description: 'Mount read-only (default false).' })),
    },
    { additionalProperties: false },
  );
  return {
    image: opt(Type.String({ pattern: IMAGE_PATTERN, description: 'Image of a `container` service, e.g. `vllm/vllm-openai:v0.9.1`.' })),
    args: opt(
      Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256, description: "Arguments of a `container` service (the image's CMD is replaced by them)." }),
    ),
    entrypoint: opt(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64, description: "Replaces the image's ENTRYPOINT (argv list)." }),
    ),
    port: opt(
      Type.Integer({
        minimum: 1,
        maximum: 65_535,
        description: 'Port the service listens on inside the container; moat publishes it on 127.0.0.1 only, on a port the engine picks.',
      }),
    ),
    gpus: opt(
      Type.Union(
        [
          Type.Literal('all'),
          Type.Integer({ minimum: 1, maximum: 64 }),
          Type.Array(Type.String({ pattern: '^[A-Za-z0-9:_-]{1,64}$' }), { minItems: 1, maxItems: 64 }),
        ],
        {
          description: 'GPUs of a `container` service, as `docker run --gpus`: `"all"`, a count, or device ids/UUIDs (NVIDIA driver, `gpu` capability).',
        },
      ),
    ),
    devices: opt(
      Type.Array(Type.String({ pattern: '^/dev/', maxLength: 512 }), {
        maxItems: 64,
        description: 'Host devices given to the container at the same path (e.g. `/dev/dri`, `/dev/kfd` for AMD GPUs).',
      }),
    ),
    volumes: opt(Type.Array(volume, { maxItems: 64, description: 'Bind mounts (the host path must exist; the engine socket and the data dir are refused).' })),
    shmSize: opt(
      Type.String({ pattern: SIZE_PATTERN, description: 'Size of /dev/shm, e.g. `8g` (PyTorch data loaders and vLLM need more than the 64m default).' }),
    ),
    memory: opt(Type.String({ pattern: SIZE_PATTERN, description: 'Memory limit, e.g. `32g`. Default: none.' })),
    cpus: opt(Type.Number({ minimum: 0.01, maximum: 1024, description: 'CPU limit in cores, e.g. `4` or `0.5`. Default: none.' })),
    user: opt(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]{1,64}(:[A-Za-z0-9_.-]{1,64})?$',
        description: "User (and group) the container runs as, e.g. `1000:1000`. Default: the image's.",
      }),
    ),
    readOnlyRootfs: opt(
      Type.Boolean({
        description:
          "Mount the container's root filesystem read-only (writable paths then come from volumes). Default: false, which lets a compromised service change its own program files until the next start.",
      }),
    ),
    capDrop: opt(
      Type.Array(Type.String({ pattern: '^[A-Z_]{2,32}$' }), {
        maxItems: 64,
        description:
          'Linux capabilities dropped from the container. Default: `["ALL"]`. Each capability kept is kernel surface a compromised service can use (NET_RAW: spoofed packets; CHOWN, DAC_OVERRIDE: files of other users in its mounts).',
      }),
    ),
    capAdd: opt(
      Type.Array(Type.String({ pattern: '^[A-Z_]{2,32}$' }), {
        maxItems: 64,
        description:
          'Capabilities added back after capDrop (e.g. `CHOWN`, `SETUID` for images that switch user). SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, DAC_READ_SEARCH and ALL are refused.',
      }),
    ),
    securityOpt: opt(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        maxItems: 32,
        description:
          'Security options of the container. Default: `["no-new-privileges"]`; without it a setuid binary in the image regains the privileges dropped above.',
      }),
    ),
    network: opt(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
        description:
          'Network of the container. Default: `bridge` (the port is published on 127.0.0.1 only); another named network; or `host`, where the service binds wherever it chooses (often every interface), next to moat rather than behind it (a doctor warning).',
      }),
    ),
    pull: opt(
      Type.Union([Type.Literal('missing'), Type.Literal('never')], {
        description:
          'Default `missing`: the engine pulls the image when it is not present (progress in the service log); `never`: a missing image fails the start.',
      }),
    ),
    privileged: opt(Type.Boolean({ description: 'Refused when true: a privileged container is root on the host. Present only to say so clearly.' })),
    pid: opt(Type.String({ maxLength: 64, description: 'PID namespace; `host` is refused (the container would see and signal every process of the host).' })),
    ipc: opt(Type.String({ maxLength: 64, description: 'IPC namespace; `host` is refused (shared memory of every process of the host).' })),
  };
}

/** A container service's keys as the config file declares them. */
export interface ContainerSpecKeys {
  image?: string;
  args?: string[];
  entrypoint?: string[];
  port?: number;
  gpus?: 'all' | number | string[];
  devices?: string[];
  volumes?: Array<{ host: string; container: string; readOnly?: boolean }>;
  shmSize?: string;
  memory?: string;
  cpus?: number;
  user?: string;
  readOnlyRootfs?: boolean;
  capDrop?: string[];
  capAdd?: string[];
  securityOpt?: string[];
  network?: string;
  pull?: 'missing' | 'never';
  privileged?: boolean;
  pid?: string;
  ipc?: string;
}

export const containerEngineSection = section(
  'The container engine that runs `container` services (Docker, or Podman with its Docker-compatible API service).',
  {
    socket: knob(Type.String({ default: '/var/run/docker.sock', minLength: 1, maxLength: 4096 }), {
      description:
        'Endpoint of the Docker Engine API: a unix socket path (Docker: /var/run/docker.sock; Podman: /run/podman/podman.sock from `podman system service`) or `http://127.0.0.1:<port>`. Used only when a `container` service is declared (or the previous run left containers).',
      env: 'MOAT_CONTAINER_SOCKET',
      flag: 'container-socket',
      weakens:
        'Whoever answers on this endpoint decides what moat believes runs; the socket itself is root-equivalent (moat doctor checks its owner and mode).',
    }),
  },
);
