/** What the API answers about jobs, schedules and the callback secret (/api/v1/jobs, /api/v1/schedules, /api/v1/callbacks). Schema only. */
import { Type, type Static } from '@sinclair/typebox';

const Progress = Type.Object({ value: Type.Union([Type.Number(), Type.Null()]), message: Type.Union([Type.String(), Type.Null()]) });
const ErrorView = Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]);
export const JobView = Type.Object({
  id: Type.String(),
  access: Type.Union([Type.Literal('full'), Type.Literal('summary')], {
    description:
      "`full`: the job is yours (or you hold admin or jobs:all). `summary`: another principal's job: no payload, result, error, callback, notify or run.",
  }),
  service: Type.String(),
  state: Type.String(),
  priority: Type.Integer(),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  timeoutSeconds: Type.Integer(),
  progress: Progress,
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(ErrorView),
  payload: Type.Optional(Type.Unknown()),
  callback: Type.Optional(
    Type.Union([
      Type.Object({
        host: Type.String(),
        attempts: Type.Array(
          Type.Object({
            attempt: Type.Integer(),
            at: Type.String(),
            status: Type.Union([Type.Integer(), Type.Null()]),
            error: Type.Union([Type.String(), Type.Null()]),
          }),
        ),
      }),
      Type.Null(),
    ]),
  ),
  notify: Type.Optional(Type.Array(Type.String())),
  run: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  createdBy: Type.Object({ id: Type.Union([Type.String(), Type.Null()]), name: Type.Union([Type.String(), Type.Null()]) }),
  createdAt: Type.String(),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});
export type JobView = Static<typeof JobView>;

export const JobList = Type.Object({ jobs: Type.Array(JobView), next: Type.Union([Type.String(), Type.Null()]) });
export type JobList = Static<typeof JobList>;

/** A job, a schedule, a task or a hook deleted. */
export const Deleted = Type.Object({ deleted: Type.Boolean() });
export type Deleted = Static<typeof Deleted>;

/** A service's progress post taken. */
export const ProgressTaken = Type.Object({ ok: Type.Boolean() });
export type ProgressTaken = Static<typeof ProgressTaken>;

export const ScheduleView = Type.Object({
  name: Type.String(),
  cron: Type.String(),
  timezone: Type.Union([Type.String(), Type.Null()]),
  service: Type.String(),
  missed: Type.Union([Type.String(), Type.Null()]),
  paused: Type.Boolean(),
  lastRunAt: Type.Union([Type.String(), Type.Null()]),
  nextRunAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});
export type ScheduleView = Static<typeof ScheduleView>;

export const ScheduleList = Type.Object({ schedules: Type.Array(ScheduleView) });
export type ScheduleList = Static<typeof ScheduleList>;

/** A schedule run now: the job it submitted. */
export const ScheduleRun = Type.Object({ job: Type.String() });
export type ScheduleRun = Static<typeof ScheduleRun>;

/** The key of one callback receiver (GET /api/v1/callbacks/secret?for=<url>). */
export const CallbackSecret = Type.Object({
  receiver: Type.String({ description: 'The receiver the key is for, as moat writes it: `<scheme>://<host>[:<port>]<path>` (no query).' }),
  secret: Type.String({ description: 'The receiver key: verify Moat-Signature v2 with it (as a hook secret, as text).' }),
  header: Type.String(),
  scheme: Type.String(),
});
export type CallbackSecret = Static<typeof CallbackSecret>;
