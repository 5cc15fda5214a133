/**
 * What the API answers about inbound hooks and triggers (/api/v1/hooks, /hooks/<name>,
 * /api/v1/triggers/<path>), the signature schemes and the shape of an action (what a delivery or a
 * trigger turns into, as the config file and the API both take it). Schema only.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SERVICE_NAME_PATTERN } from './services.js';

/** The signature schemes of inbound senders (docs/hooks.md#schemes). */
export const VERIFY_SCHEMES = ['github', 'whatsapp', 'nextcloud-talk', 'slack', 'stripe', 'moat', 'secret', 'standard-webhooks', 'timestamped-hmac'] as const;
export type VerifyScheme = (typeof VERIFY_SCHEMES)[number];

const TEMPLATE_NOTE = '`{body.x.y}`, `{query.x}`, `{header.x-name}` are filled by literal substitution (docs/hooks.md#templates).';

const JobTemplate = Type.Object(
  {
    service: Type.String({ pattern: SERVICE_NAME_PATTERN, description: 'Service the job goes to.' }),
    payload: Type.Optional(Type.Unknown({ description: `Payload template (any JSON). ${TEMPLATE_NOTE}` })),
  },
  { additionalProperties: false },
);

/** What a delivery or a trigger turns into: a job, or a task (optionally holding a job that waits for approval). */
export const ActionSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('job'),
      service: Type.String({ pattern: SERVICE_NAME_PATTERN, description: 'Service the job goes to.' }),
      payload: Type.Optional(Type.Unknown({ description: `Payload template (any JSON). ${TEMPLATE_NOTE}` })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('task'),
      title: Type.String({ minLength: 1, maxLength: 500, description: `Title template. ${TEMPLATE_NOTE}` }),
      body: Type.Optional(Type.String({ maxLength: 20_000, description: 'Body template.' })),
      job: Type.Optional(Object.assign(JobTemplate, { description: 'A job the task holds: it runs only once the task is approved.' })),
    },
    { additionalProperties: false },
  ),
]);
export type Action = Static<typeof ActionSchema>;

const SetUnset = Type.Union([Type.Literal('set'), Type.Literal('unset')]);
export const HookView = Type.Object({
  name: Type.String(),
  verify: Type.Union(VERIFY_SCHEMES.map((s) => Type.Literal(s))),
  secret: SetUnset,
  verifyToken: Type.Optional(SetUnset),
  action: ActionSchema,
  maxBodyBytes: Type.Union([Type.Integer(), Type.Null()]),
  source: Type.Union([Type.Literal('config'), Type.Literal('api')]),
  url: Type.String({ description: 'Path deliveries are POSTed to.' }),
  createdAt: Type.Union([Type.String(), Type.Null()]),
});
export type HookView = Static<typeof HookView>;

export const HookList = Type.Object({ hooks: Type.Array(HookView) });
export type HookList = Static<typeof HookList>;

/** What a delivery to /hooks/<name> did. */
export const HookDelivered = Type.Object({
  accepted: Type.Boolean({ description: 'False for a duplicate.' }),
  duplicate: Type.Boolean({ description: 'A redelivery of a delivery id seen within inbound.dedupHours: nothing was done.' }),
  job: Type.Union([Type.String(), Type.Null()]),
  task: Type.Union([Type.String(), Type.Null()]),
});
export type HookDelivered = Static<typeof HookDelivered>;

/** What a trigger call did. */
export const TriggerCalled = Type.Object({
  accepted: Type.Boolean(),
  duplicate: Type.Boolean({ description: 'The same Idempotency-Key from this token within inbound.dedupHours: nothing was done.' }),
  job: Type.Union([Type.String(), Type.Null()]),
  task: Type.Union([Type.String(), Type.Null()]),
});
export type TriggerCalled = Static<typeof TriggerCalled>;
