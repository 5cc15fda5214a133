/** Config knobs of the way out for agents: operator mounts, run workspaces, tool policy and exec limits. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

/** Mount names are what clients write after `mount:`; never a host path. */
/** The largest tools.maxWriteBytes the schema allows (64 MiB): the ceiling of the invoke route's body cap. */
export const MAX_WRITE_BYTES_CEILING = 67_108_864;

export const MOUNT_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';

const Mount = Type.Object(
  {
    name: Type.String({ pattern: MOUNT_NAME_PATTERN, description: 'What clients write after `mount:` (lowercase letters, digits, . _ -).' }),
    path: Type.String({
      minLength: 2,
      maxLength: 4096,
      pattern: '^/',
      description: 'Absolute path of an existing directory on the host. Never shown to clients.',
    }),
    readOnly: Type.Boolean({ default: true, description: 'Refuse writes, moves and deletes in this mount (403 path_read_only). Default: true.' }),
  },
  { additionalProperties: false },
);

const toolNames = (what: string) => Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 64, description: what });

export const toolKnobs = {
  mounts: knob(Type.Array(Mount, { default: [], maxItems: 64 }), {
    description:
      'Host directories a run may include by name (`{name, path, readOnly}`); clients address them as `mount:<name>/...` and never see the path. Default: none.',
    weakens: 'Each mount puts a host directory within reach of any client holding scope tools; a writable one lets them change it.',
    live: true,
  }),
  workspaces: section('Where runs keep their files: <dataDir>/workspaces/<run-id>/ (mode 0700) unless the operator allows client-chosen roots.', {
    allowClientScope: knob(Type.Boolean({ default: false }), {
      description:
        "Let a client choose its run's root under `workspaces.clientScopeBase` (`workspace.root` on POST /api/v1/runs). Refused on a non-loopback bind.",
      env: 'MOAT_WORKSPACES_ALLOW_CLIENT_SCOPE',
      flag: 'allow-client-scope',
      weakens: 'Runs stop being isolated from each other: any client with scope tools can open any directory under the base.',
    }),
    clientScopeBase: Type.Optional(
      knob(Type.String({ minLength: 2, maxLength: 4096, pattern: '^/' }), {
        description: 'Absolute path of an existing directory under which clients may choose roots (needed by `allowClientScope`).',
        env: 'MOAT_WORKSPACES_CLIENT_SCOPE_BASE',
      }),
    ),
  }),
  tools: section('Tools a client can invoke in a run (POST /api/v1/tools/invoke) and their limits.', {
    allow: knob(toolNames('Tool names'), {
      description:
        'High-risk tools opened over HTTP: `exec`, `fs.delete`, and `mount.write` (writes, moves and deletes in writable mounts). Low and medium risk tools are open unless denied.',
      env: 'MOAT_TOOLS_ALLOW',
      flag: 'tools-allow',
      weakens: 'Each listed tool lets any holder of scope tools run commands on the host, delete files or change mounted directories.',
      live: true,
    }),
    deny: knob(toolNames('Tool names'), {
      description: 'Tools refused whatever their risk (403 tool_denied); wins over `tools.allow`. `mount.write` closes writes into mounts.',
      env: 'MOAT_TOOLS_DENY',
      flag: 'tools-deny',
      live: true,
    }),
    maxReadBytes: knob(Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 67_108_864 }), {
      description: 'Largest read by fs.read in bytes (1 MiB); more is refused with 413 file_too_large, never clamped: read in ranges.',
      env: 'MOAT_TOOLS_MAX_READ_BYTES',
      weakens: 'Larger reads cost memory per request (the reply holds the content, base64 for binary).',
      live: true,
    }),
    maxWriteBytes: knob(Type.Integer({ default: 1_048_576, minimum: 1024, maximum: MAX_WRITE_BYTES_CEILING }), {
      description: 'Largest content written by fs.write in bytes (1 MiB); the invoke route accepts bodies big enough for it.',
      env: 'MOAT_TOOLS_MAX_WRITE_BYTES',
      weakens: 'Larger writes raise the body size of POST /api/v1/tools/invoke and the memory held per request.',
      live: true,
    }),
    maxWorkspaceBytes: knob(Type.Integer({ default: 1_073_741_824, minimum: 65_536, maximum: 1_125_899_906_842_624 }), {
      description:
        "Disk quota of each run's workspace in bytes (1 GiB), counted in 4 KiB blocks with at least one per file, directory and link. " +
        'An fs.write or fs.move that would take a workspace over it is refused with 507 workspace_full before anything is written; ' +
        'a command that takes it over runs to its end, then further writes and commands are refused until files are deleted. ' +
        'Not counted: writable mounts, and files a service writes in the workspace during a job (until the next recount).',
      env: 'MOAT_TOOLS_MAX_WORKSPACE_BYTES',
      weakens:
        "A larger quota lets any holder of scope tools fill more of the data dir's disk with one run (tools.maxBytesPerToken bounds a token's runs together). There is no off switch; a very large value is one.",
      live: true,
    }),
    maxBytesPerToken: knob(Type.Integer({ default: 4_294_967_296, minimum: 65_536, maximum: 1_125_899_906_842_624 }), {
      description:
        'Disk quota of all the runs one token created, together, in bytes (4 GiB), counted like `tools.maxWorkspaceBytes`; ' +
        'a change that would take them over is refused with 507 workspace_full. Closes the gap of a token creating many runs, each with a quota of its own.',
      env: 'MOAT_TOOLS_MAX_BYTES_PER_TOKEN',
      weakens: 'A larger quota lets one token fill more of the disk across its runs; above runs x tools.maxWorkspaceBytes it bounds nothing.',
      live: true,
    }),
    exec: section('The exec tool: argv only (never a shell), scrubbed environment, time and output caps, bubblewrap sandbox.', {
      env: knob(Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }), { default: [], maxItems: 128 }), {
        description:
          "Names of the gateway's environment variables passed to commands. Default: none (commands get PATH and HOME only). MOAT_* names are refused.",
        env: 'MOAT_TOOLS_EXEC_ENV',
        weakens: 'Every listed variable (an API key, a cloud credential) is readable by every command a client runs.',
        live: true,
      }),
      timeoutMs: knob(Type.Integer({ default: 30_000, minimum: 100, maximum: 3_600_000 }), {
        description:
          'Wall time of a command in milliseconds (30 s); then its whole process group gets SIGTERM, and SIGKILL a second later. A client may ask for less, never more.',
        env: 'MOAT_TOOLS_EXEC_TIMEOUT_MS',
        weakens: 'Longer lets a command hold a process slot and CPU for longer.',
        live: true,
      }),
      maxOutputBytes: knob(Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 67_108_864 }), {
        description: 'Bytes kept of stdout and of stderr each (1 MiB); the rest is discarded and `truncated` is set.',
        env: 'MOAT_TOOLS_EXEC_MAX_OUTPUT_BYTES',
        live: true,
      }),
      maxConcurrent: knob(Type.Integer({ default: 4, minimum: 1, maximum: 256 }), {
        description: 'Commands running at once; more are refused with 503 overloaded.',
        env: 'MOAT_TOOLS_EXEC_MAX_CONCURRENT',
        weakens: 'More concurrent commands let one client take more of the host.',
        live: true,
      }),
      network: knob(Type.Boolean({ default: false }), {
        description: 'Give sandboxed commands the network (bubblewrap --share-net). Without the sandbox commands always have it.',
        env: 'MOAT_TOOLS_EXEC_NETWORK',
        weakens: "Commands can reach the network, including this host's loopback services, bypassing the egress guard.",
        live: true,
      }),
      sandbox: knob(Type.Union([Type.Literal('auto'), Type.Literal('required'), Type.Literal('off')], { default: 'auto' }), {
        description:
          '`auto`: run commands in a bubblewrap sandbox (only the workspace and read-only system directories) when bwrap works, else without one (warned at boot); `required`: exec is unavailable without it; `off`: never.',
        env: 'MOAT_TOOLS_EXEC_SANDBOX',
        weakens: "Without the sandbox a command sees the whole host as the gateway's user: its data dir, tokens and the network.",
        live: true,
      }),
    }),
  }),
};
