/** Config knobs of the job queue, callbacks, notifications and schedules. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

export const jobKnobs = {
  jobs: section('The durable job queue.', {
    defaultMaxAttempts: knob(Type.Integer({ default: 3, minimum: 1, maximum: 100 }), {
      description: 'Attempts a job gets when it names none (transient failures are retried with backoff).',
      env: 'MOAT_JOBS_MAX_ATTEMPTS',
    }),
    defaultTimeoutSeconds: knob(Type.Integer({ default: 600, minimum: 1, maximum: 604_800 }), {
      description: 'Time an attempt may run when the job names none; past it the job fails and the service is told to cancel.',
      env: 'MOAT_JOBS_TIMEOUT',
    }),
    retryBaseMs: knob(Type.Integer({ default: 1000, minimum: 10, maximum: 3_600_000 }), {
      description: 'First retry delay after a transient failure, in milliseconds; it doubles per attempt.',
    }),
    retryMaxMs: knob(Type.Integer({ default: 60_000, minimum: 10, maximum: 86_400_000 }), {
      description: 'Longest retry delay, in milliseconds.',
    }),
    startTimeoutSeconds: knob(Type.Integer({ default: 120, minimum: 1, maximum: 3600 }), {
      description: 'Time a stopped command service gets to become healthy when a job starts it on demand.',
    }),
    progressPollMs: knob(Type.Integer({ default: 2000, minimum: 0, maximum: 600_000 }), {
      description: "Interval for polling a running job's progress from its service (0: only progress the service posts back).",
    }),
    maxResultBytes: knob(Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 268_435_456 }), {
      description: 'Largest result kept for a job (1 MiB); a larger answer fails the job with result_too_large.',
      env: 'MOAT_JOBS_MAX_RESULT_BYTES',
    }),
    retentionHours: knob(Type.Integer({ default: 168, minimum: 1, maximum: 87_600 }), {
      description: 'Finished jobs are deleted this long after they finished (7 days).',
      env: 'MOAT_JOBS_RETENTION_HOURS',
    }),
    idempotencyHours: knob(Type.Integer({ default: 24, minimum: 1, maximum: 8760 }), {
      description: 'How long an Idempotency-Key is remembered (per token), durably.',
      env: 'MOAT_JOBS_IDEMPOTENCY_HOURS',
      weakens: 'A shorter memory lets a late retry of a submission create the job twice.',
    }),
  }),
  callbacks: section("Signed callbacks to a job's callbackUrl when it finishes (through the egress guard, purpose callback).", {
    maxAttempts: knob(Type.Integer({ default: 5, minimum: 1, maximum: 50 }), {
      description: 'Delivery attempts per callback (each one recorded on the job).',
    }),
    retryBaseMs: knob(Type.Integer({ default: 1000, minimum: 10, maximum: 3_600_000 }), {
      description: 'First callback retry delay in milliseconds; it doubles per attempt up to 10 minutes.',
    }),
  }),
  notifications: section('Notifications of finished jobs (never with payloads or secrets), through the egress guard (purpose notify).', {
    ntfy: Type.Optional(
      knob(
        Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: 2048, description: 'ntfy server, e.g. https://ntfy.sh' }),
            topic: Type.String({
              minLength: 1,
              maxLength: 256,
              description: 'A long random topic (at least 24 characters); short or well-known topics are refused at boot.',
            }),
            on: Type.Optional(
              Type.Array(Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('canceled')]), {
                description: 'Job outcomes to notify (default all).',
              }),
            ),
            tokenFile: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 4096,
                description:
                  'Absolute path of a file holding an ntfy access token (one line), sent as Authorization: Bearer, for a server whose topics need one. Kept out of the config file; read at boot, at every live change and at each notification; refused when group or others have any access (chmod 600). Default: none (the topic name is the only protection).',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        {
          description: 'ntfy notifications: `{url, topic, on?, tokenFile?}`.',
          live: true,
          weakens: 'An ntfy topic is readable by anyone who guesses it: a short or well-known topic leaks what your services do.',
        },
      ),
    ),
    webhook: Type.Optional(
      knob(Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }), {
        description: 'A generic webhook: `{url}`; each POST is signed with Moat-Signature v2, the key of that URL (moat callbacks secret --for <url>).',
        live: true,
      }),
    ),
  }),
  schedules: section('Cron schedules that submit jobs.', {
    missed: knob(Type.Union([Type.Literal('run-once'), Type.Literal('skip')], { default: 'run-once' }), {
      description:
        'What happens to ticks missed while the gateway was down: `run-once` submits one job at boot, `skip` waits for the next tick. A schedule may override it.',
      env: 'MOAT_SCHEDULES_MISSED',
    }),
  }),
};
