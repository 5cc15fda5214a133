/**
 * Config of the way in: the `hooks` list (signed inbound webhooks), the `triggers` list, and the
 * knobs of deliveries, templates, tasks and signed action links. Schema only; the routes reuse the
 * hook and action shapes for their bodies.
 */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';
import { ActionSchema, VERIFY_SCHEMES } from '../../api/hooks.js';

/** Hook names: a URL segment (`/hooks/<name>`) and an audit field, so nothing else. */
export const HOOK_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
/** Trigger paths: one or more segments below /api/v1/triggers/. */
export const TRIGGER_PATH_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}(/[a-z0-9][a-z0-9._-]{0,63}){0,7}$';

/**
 * A hook as the config file declares it (`config`: secrets carry the knob annotation that redacts
 * them) or as POST /api/v1/hooks takes it (plain JSON Schema for the route validator).
 */
function hookSchema(config: boolean) {
  const secret = (description: string) => {
    const s = Type.String({ minLength: 16, maxLength: 1024, description });
    return config ? knob(s, { description, secret: true, weakens: 'A short or shared secret lets anyone who guesses it forge deliveries.' }) : s;
  };
  return Type.Object(
    {
      name: Type.String({ pattern: HOOK_NAME_PATTERN, description: 'Name: the delivery URL is /hooks/<name>.' }),
      verify: Type.Union(
        VERIFY_SCHEMES.map((s) => Type.Literal(s)),
        { description: 'Signature scheme of the sender (docs/hooks.md#schemes).' },
      ),
      secret: Type.Optional(
        secret('Signing secret shared with the sender (16-1024 characters). Without one every delivery is refused. Never returned by the API.'),
      ),
      verifyToken: Type.Optional(secret('WhatsApp only: the verify token of the subscription handshake (GET).')),
      secretFile: Type.Optional(
        knob(Type.String({ minLength: 1, maxLength: 4096 }), {
          description:
            'Absolute path of a file holding the signing secret (one line), instead of `secret` in the config file. Read at boot and at every live change; refused when group or others have any access (chmod 600). Config file only.',
          weakens: 'A secret file others can read lets any user on the host forge deliveries.',
        }),
      ),
      action: ActionSchema,
      maxBodyBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 26_214_400, description: 'Body cap of this hook (default inbound.maxBodyBytes).' })),
    },
    { additionalProperties: false },
  );
}

export const HookConfigSchema = hookSchema(true);
/** The body of POST /api/v1/hooks (no secretFile: a client never names a file on the gateway's host). */
export const HookBodySchema = Type.Omit(hookSchema(false), ['secretFile'], { additionalProperties: false });

export const TriggerConfigSchema = Type.Object(
  {
    path: Type.String({ pattern: TRIGGER_PATH_PATTERN, description: 'Called as POST /api/v1/triggers/<path> (scope hooks).' }),
    action: ActionSchema,
  },
  { additionalProperties: false },
);

export const hookKnobs = {
  hooks: knob(Type.Array(HookConfigSchema, { default: [], maxItems: 256 }), {
    description:
      'Signed inbound webhooks: `[{name, verify, secret | secretFile, verifyToken?, action, maxBodyBytes?}]`, delivered to POST /hooks/<name> (docs/hooks.md). More can be registered with POST /api/v1/hooks; those live in the database, their secrets sealed. `secret` and `verifyToken` are write-only: never returned by the API, never logged.',
    weakens: 'Each hook turns a correctly signed request from outside into a job or a task; its secret is what stands between the internet and that.',
    live: true,
  }),
  triggers: knob(Type.Array(TriggerConfigSchema, { default: [], maxItems: 256 }), {
    description: 'Paths callable with a token of scope `hooks` as POST /api/v1/triggers/<path>: `[{path, action}]`.',
    live: true,
  }),
  inbound: section('Deliveries of inbound hooks and triggers.', {
    maxBodyBytes: knob(Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 26_214_400 }), {
      description: 'Body cap of a hook delivery (1 MiB) unless the hook sets its own; larger bodies are refused with 413 before they are read.',
      env: 'MOAT_INBOUND_MAX_BODY_BYTES',
    }),
    dedupHours: knob(Type.Integer({ default: 24, minimum: 1, maximum: 8760 }), {
      description: 'How long a delivery id (X-GitHub-Delivery, Idempotency-Key) is remembered, durably; a redelivery within it does nothing.',
      env: 'MOAT_INBOUND_DEDUP_HOURS',
      weakens: 'A shorter memory lets a late redelivery create its job or task twice.',
    }),
    nonceHours: knob(Type.Integer({ default: 720, minimum: 1, maximum: 87_600 }), {
      description: 'How long a Nextcloud Talk random is remembered (30 days); the scheme has no timestamp, so this is its only replay defence.',
      env: 'MOAT_INBOUND_NONCE_HOURS',
      weakens: 'A captured Nextcloud Talk delivery can be replayed once its random is forgotten.',
    }),
    maxPayloadBytes: knob(Type.Integer({ default: 262_144, minimum: 1024, maximum: 16_777_216 }), {
      description: 'Largest job payload or task text a template may produce once filled (256 KiB); more is refused with 413.',
    }),
    acceptMoatV1: knob(Type.Boolean({ default: false }), {
      description:
        'Let `moat` hooks accept the old `Moat-Signature: t=...,v1=...` (from a moat that signs every callback with one install-wide secret) as well as v2. Default: v1 is refused (401, audited reason legacy_v1). Logged as a warning at boot and put in the boot record; each delivery it lets in is audited with signature v1.',
      env: 'MOAT_INBOUND_ACCEPT_MOAT_V1',
      weakens:
        "A v1 signature is not bound to its receiver: any token with scope jobs on the sending moat can point a job's callbackUrl at its own server, get a validly signed job.finished with a result it chose, and post it to the hook (forged delivery).",
    }),
  }),
  tasks: section('Tasks and their signed action links.', {
    linkTtlSeconds: knob(Type.Integer({ default: 86_400, minimum: 60, maximum: 604_800 }), {
      description: 'Lifetime of an action link when the minting call names none (24 h; 7 days at most).',
      weakens: "A longer-lived link is a longer-lived capability in someone's inbox.",
    }),
    allowSelfReview: knob(Type.Boolean({ default: false }), {
      description: 'Let the token that created a task holding a job approve it itself (or mint its action links). Default: a second principal approves.',
      env: 'MOAT_TASKS_ALLOW_SELF_REVIEW',
      flag: 'tasks-allow-self-review',
      weakens:
        'The approval stops being a second look: a token with scopes tasks and jobs can propose work and wave it through itself, so an agent asking for approval is no longer asking anyone.',
    }),
    linkBaseUrl: Type.Optional(
      knob(Type.String({ pattern: '^https?://[^/?#@\\s]+$', maxLength: 300 }), {
        description:
          "Base URL of action links, e.g. https://moat.example.com (default: the first publicNames entry with the gateway's scheme and port, else the gateway's URL).",
      }),
    ),
  }),
};
