/**
 * Config of the house: the `services` list (what moat knows, starts and forwards to), the
 * supervisor's knobs and the reverse proxy's limits. Schema only; the loopback rule for baseUrl
 * and the per-kind rules are checked by domain/services/spec.ts at boot (config_invalid).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { containerEngineSection, containerKeys, type ContainerSpecKeys } from './containers.js';
import { section } from './section.js';
import { SERVICE_NAME_PATTERN } from '../../api/services.js';

const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
const TAG_PATTERN = '^[a-z0-9][a-z0-9._-]{0,31}$';
/** An HTTP field name (RFC 9110 5.1, token characters). */
const HEADER_NAME_PATTERN = "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$";

export interface ServiceSchemaOptions {
  /** Fill defaults (config and POST); a PATCH body has none, so that absent keys stay absent. */
  defaults: boolean;
  /** Operator-only keys (the config file): `allowNonLoopback`, `upstreamHeaders`. The API never sees them. */
  operator: boolean;
  /** Every key optional and `name` absent (PATCH). */
  partial?: boolean;
}

/** The service object, built for the config file, a POST body or a PATCH body. */
export function serviceSchema(o: ServiceSchemaOptions) {
  const d = <T extends TSchema>(schema: T, value: unknown): T => (o.defaults ? Object.assign(schema, { default: value }) : schema);
  const opt = <T extends TSchema>(schema: T) => Type.Optional(schema);
  const maybe = <T extends TSchema>(schema: T) => (o.partial ? Type.Optional(schema) : schema);
  const obj = <P extends Record<string, TSchema>>(props: P, description: string) =>
    Type.Object(props, { additionalProperties: false, description, ...(o.defaults ? { default: {} } : {}) });

  const health = obj(
    {
      path: opt(
        Type.String({
          pattern: '^/',
          maxLength: 512,
          description:
            'Path probed with GET; 2xx is healthy. Default: none, and then `GET /` answering any status below 500 is healthy (what Ollama, vLLM, llama.cpp and ComfyUI all do).',
        }),
      ),
      intervalMs: opt(d(Type.Integer({ minimum: 20, maximum: 3_600_000, description: 'Time between probes (ms).' }), 5000)),
      timeoutMs: opt(d(Type.Integer({ minimum: 10, maximum: 600_000, description: 'A probe slower than this fails (ms).' }), 2000)),
      healthyThreshold: opt(d(Type.Integer({ minimum: 1, maximum: 100, description: 'Successes in a row that make it healthy.' }), 1)),
      unhealthyThreshold: opt(d(Type.Integer({ minimum: 1, maximum: 100, description: 'Failures in a row that make it unhealthy.' }), 3)),
    },
    'Health probe of the service.',
  );
  const restart = obj(
    {
      policy: opt(
        d(
          Type.Union([Type.Literal('always'), Type.Literal('on-failure'), Type.Literal('never')], {
            description: '`always`: restart on any exit and when unhealthy; `on-failure`: not after a clean exit (code 0); `never`.',
          }),
          'on-failure',
        ),
      ),
      initialDelayMs: opt(d(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'First backoff delay (ms); doubles per failure in a row.' }), 500)),
      maxDelayMs: opt(d(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'Cap of the backoff delay (ms).' }), 30_000)),
      maxAttempts: opt(d(Type.Integer({ minimum: 0, maximum: 1000, description: 'Restarts in a row before the service is marked failed.' }), 5)),
      resetAfterMs: opt(d(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'Uptime after which failures in a row are forgotten (ms).' }), 60_000)),
    },
    'Restart policy with exponential backoff.',
  );

  const jobs = obj(
    {
      path: opt(d(Type.String({ pattern: '^/', maxLength: 512, description: 'Jobs are POSTed here (the payload as the body).' }), '/jobs')),
      progressPath: opt(
        d(
          Type.String({
            pattern: '^(/|$)',
            maxLength: 512,
            description: 'Polled for progress while a job runs; `{id}` is the job id. Empty: no polling (progress only as the service posts it).',
          }),
          '/jobs/{id}/progress',
        ),
      ),
      cancelPath: opt(
        d(Type.String({ pattern: '^/', maxLength: 512, description: 'POSTed to cancel a job (timeout, cancel); `{id}` is the job id.' }), '/jobs/{id}/cancel'),
      ),
    },
    'How moat hands jobs to the service (see docs/jobs.md).',
  );

  const props = {
    ...(o.partial ? {} : { name: Type.String({ pattern: SERVICE_NAME_PATTERN, description: 'Name: the `svc:<name>` scope and the `/svc/<name>/` prefix.' }) }),
    kind: maybe(
      Type.Union([Type.Literal('command'), Type.Literal('url'), Type.Literal('container')], {
        description:
          '`command`: moat spawns and supervises it; `url`: already running, moat only probes and forwards; `container`: moat runs an image through the container engine (config file only).',
      }),
    ),
    command: opt(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
        minItems: 1,
        maxItems: 256,
        description: 'argv of a `command` service (program, then arguments). Never run through a shell.',
      }),
    ),
    env: opt(
      Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), Type.String({ maxLength: 32_768 }), {
        description: 'Extra environment of a `command` service (values are never shown by the API).',
      }),
    ),
    cwd: opt(Type.String({ minLength: 1, maxLength: 4096, description: 'Working directory of a `command` service.' })),
    // Required for command and url services (checked in domain/services/spec.ts, 400 through the API);
    // a container service has none: its address is the port the engine publishes on 127.0.0.1.
    baseUrl: opt(
      Type.String({
        minLength: 8,
        maxLength: 2048,
        description: 'Where the service listens (http or https). Loopback only unless `allowNonLoopback`. Its port is given to a `command` service as PORT.',
      }),
    ),
    ...(o.operator
      ? {
          allowNonLoopback: opt(
            d(
              knob(Type.Boolean(), {
                description: 'Allow a baseUrl that is not a loopback address (config file only; never through the API).',
                weakens: 'Moat then forwards authenticated traffic to another host, in clear text unless the baseUrl is https.',
              }),
              false,
            ),
          ),
        }
      : {}),
    ...(o.operator
      ? {
          upstreamHeaders: opt(
            Type.Record(
              Type.String({ pattern: HEADER_NAME_PATTERN }),
              Type.Object(
                {
                  file: opt(Type.String({ minLength: 1, maxLength: 4096, description: 'A file holding the value (mode 0600 or narrower, read at boot).' })),
                  env: opt(Type.String({ pattern: ENV_NAME_PATTERN, description: "A variable of moat's environment holding the value (not MOAT_*)." })),
                  prefix: opt(Type.String({ maxLength: 64, description: 'Put before the value, e.g. `Bearer `.' })),
                },
                { additionalProperties: false },
              ),
              {
                maxProperties: 16,
                description:
                  'Headers moat adds to every request to the service (proxy, WebSocket, health probe, job dispatch), e.g. the key of a model server started with --api-key. Values come from a file or an environment variable (config file only), are never shown, logged or audited, and replace a header of the same name sent by a client.',
              },
            ),
          ),
        }
      : {}),
    // Container services are the operator's only: the engine's socket is root-equivalent.
    ...(o.operator ? containerKeys() : {}),
    health: opt(health),
    restart: opt(restart),
    startTimeoutMs: opt(
      d(Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'Time a start (or a start on demand) may take to turn healthy (ms).' }), 60_000),
    ),
    idleStopAfter: opt(
      d(
        Type.Number({
          minimum: 0,
          maximum: 604_800,
          description:
            'Stop a `command` service after this many seconds without requests or jobs (e.g. 900 = 15 min), to free the GPU; fractions allowed; 0 = never.',
        }),
        0,
      ),
    ),
    concurrency: opt(d(Type.Integer({ minimum: 1, maximum: 1024, description: 'Jobs it takes at once.' }), 1)),
    jobs: opt(jobs),
    tags: opt(d(Type.Array(Type.String({ pattern: TAG_PATTERN }), { maxItems: 32, description: 'Free labels, e.g. `gpu`.' }), [])),
    autoStart: opt(d(Type.Boolean({ description: 'Start a `command` service when moat starts (else on the first request).' }), true)),
  };
  return Type.Object(props, { additionalProperties: false });
}

export const ServiceConfigSchema = serviceSchema({ defaults: true, operator: true });
/** A service as the config file (or a POST, after defaults) declares it. */
export interface ServiceSpec extends ContainerSpecKeys {
  name: string;
  kind: 'command' | 'url' | 'container';
  command?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Required for `command` and `url` services (checked by domain/services/spec.ts). */
  baseUrl?: string;
  allowNonLoopback?: boolean;
  upstreamHeaders?: Record<string, { file?: string; env?: string; prefix?: string }>;
  health?: { path?: string; intervalMs?: number; timeoutMs?: number; healthyThreshold?: number; unhealthyThreshold?: number };
  restart?: { policy?: 'always' | 'on-failure' | 'never'; initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number; resetAfterMs?: number };
  startTimeoutMs?: number;
  idleStopAfter?: number;
  concurrency?: number;
  jobs?: { path?: string; progressPath?: string; cancelPath?: string };
  tags?: string[];
  autoStart?: boolean;
}

export const serviceKnobs = {
  services: knob(Type.Array(ServiceConfigSchema, { default: [], maxItems: 256 }), {
    description:
      'Services moat knows, starts and forwards to under /svc/<name>/ (see docs/services.md). More can be registered with POST /api/v1/services; those live in the database.',
    weakens: 'Each service is reachable by every token with its svc:<name> scope (or admin).',
    live: true,
  }),
  supervisor: section('The process supervisor of `command` services.', {
    stopGraceMs: knob(Type.Integer({ default: 10_000, minimum: 0, maximum: 600_000 }), {
      description: 'After SIGTERM, time a child process group gets to exit before SIGKILL (ms), on stop and on moat shutdown.',
      env: 'MOAT_SUPERVISOR_STOP_GRACE_MS',
    }),
    logLines: knob(Type.Integer({ default: 1000, minimum: 10, maximum: 100_000 }), {
      description: 'Lines of stdout/stderr kept in memory per service (GET /api/v1/services/{name}/logs).',
      env: 'MOAT_SUPERVISOR_LOG_LINES',
    }),
    logFileBytes: knob(Type.Integer({ default: 10_485_760, minimum: 4096, maximum: 10_737_418_240 }), {
      description: 'Size at which <dataDir>/services/<name>/output.log is rotated (10 MiB).',
      env: 'MOAT_SUPERVISOR_LOG_FILE_BYTES',
    }),
    logFiles: knob(Type.Integer({ default: 3, minimum: 1, maximum: 100 }), {
      description: 'Rotated log files kept per service (output.log.1 ... output.log.N).',
      env: 'MOAT_SUPERVISOR_LOG_FILES',
    }),
    allowApiCommands: knob(Type.Boolean({ default: false }), {
      description: 'Let POST/PATCH /api/v1/services register `command` services (programs moat runs). Default: only `url` services through the API.',
      env: 'MOAT_SUPERVISOR_ALLOW_API_COMMANDS',
      weakens:
        'Remote code execution by design: any token with scope `services` can then run any program as the moat user. Warned about at boot, audited, a doctor warning; refused off loopback unless supervisor.acknowledgeRemoteCodeExecution is set too.',
    }),
    acknowledgeRemoteCodeExecution: knob(Type.Boolean({ default: false }), {
      description:
        'The acknowledgement that supervisor.allowApiCommands off loopback is meant: without it such a boot is refused (exit 78). Does nothing on its own.',
      env: 'MOAT_SUPERVISOR_ACKNOWLEDGE_REMOTE_CODE_EXECUTION',
      weakens: 'With allowApiCommands on a network bind, every token with scope `services` that reaches moat over the network runs programs on this host.',
    }),
    apiTargets: knob(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { default: [], maxItems: 256 }), {
      description:
        'Loopback targets a token with scope `services` (but not `admin`) may register through the API: `host:port` (`127.0.0.1:11434`, `[::1]:8000`, `localhost:8000`), `host:low-high`, or a port or range on any loopback address (`8000`, `8000-8099`). Default: none (only admin registers services). Admin may register any loopback target.',
      env: 'MOAT_SUPERVISOR_API_TARGETS',
      weakens:
        "Each entry is a local port whose health answers and job results a `services` token can read: a wide range turns the health probe into a port scanner of this host's loopback services.",
    }),
    containers: containerEngineSection,
  }),
  proxy: section('The authenticated reverse proxy /svc/<name>/.', {
    maxBodyBytes: knob(Type.Integer({ default: 104_857_600, minimum: 1024, maximum: 68_719_476_736 }), {
      description: 'Largest request body forwarded to a service (100 MiB); bodies are streamed, never buffered.',
      env: 'MOAT_PROXY_MAX_BODY_BYTES',
      weakens: 'A larger cap lets one client push more data into a service.',
    }),
    connectTimeoutMs: knob(Type.Integer({ default: 5000, minimum: 10, maximum: 600_000 }), {
      description: 'Time to open a connection to a service (ms).',
      env: 'MOAT_PROXY_CONNECT_TIMEOUT_MS',
    }),
    headersTimeoutMs: knob(Type.Integer({ default: 300_000, minimum: 100, maximum: 3_600_000 }), {
      description: 'Time a service has to answer with headers (ms); an LLM may think long before its first token.',
      env: 'MOAT_PROXY_HEADERS_TIMEOUT_MS',
    }),
    bodyTimeoutMs: knob(Type.Integer({ default: 300_000, minimum: 100, maximum: 3_600_000 }), {
      description: 'Longest silence inside a response body (ms) before the response is cut.',
      env: 'MOAT_PROXY_BODY_TIMEOUT_MS',
    }),
  }),
};
