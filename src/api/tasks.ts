/** What the API answers about tasks and signed action links (/api/v1/tasks, /a/<token>), and the task states. Schema only. */
import { Type, type Static } from '@sinclair/typebox';

export const TASK_STATES = ['open', 'pending_approval', 'approved', 'rejected', 'done', 'canceled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TaskStateSchema = Type.Union(TASK_STATES.map((s) => Type.Literal(s)));
const Who = Type.Object({ id: Type.Union([Type.String(), Type.Null()]), name: Type.Union([Type.String(), Type.Null()]) });

export const TaskComment = Type.Object({ seq: Type.Integer(), at: Type.String(), by: Who, text: Type.String() });
export type TaskComment = Static<typeof TaskComment>;

export const TaskView = Type.Object({
  id: Type.String(),
  title: Type.String(),
  body: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  state: TaskStateSchema,
  version: Type.Integer({ description: 'Raised by every change; action links are bound to it.' }),
  source: Type.String({ description: '`api`, `hook:<name>` or `trigger:<path>`.' }),
  job: Type.Union([Type.Object({ service: Type.String(), id: Type.Union([Type.String(), Type.Null()]), payload: Type.Optional(Type.Unknown()) }), Type.Null()]),
  createdBy: Who,
  reviewedBy: Type.Union([Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  reviewedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  comments: Type.Optional(Type.Array(TaskComment)),
});
export type TaskView = Static<typeof TaskView>;

export const TaskList = Type.Object({ tasks: Type.Array(TaskView), next: Type.Union([Type.String(), Type.Null()]) });
export type TaskList = Static<typeof TaskList>;

export const TaskLinks = Type.Object({ approve: Type.String(), reject: Type.String(), expiresAt: Type.String() });
export type TaskLinks = Static<typeof TaskLinks>;

export const TaskEvent = Type.Object({
  seq: Type.Integer(),
  type: Type.String(),
  at: Type.String(),
  actor: Type.Union([Who, Type.Null()]),
  detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  text: Type.Optional(Type.String()),
});
export type TaskEvent = Static<typeof TaskEvent>;

export const TaskEvents = Type.Object({ events: Type.Array(TaskEvent) });
export type TaskEvents = Static<typeof TaskEvents>;

/** What a signed action link did. */
export const LinkActed = Type.Object({
  action: Type.String(),
  task: Type.Object({ id: Type.String(), state: Type.String(), job: Type.Union([Type.String(), Type.Null()]) }),
});
export type LinkActed = Static<typeof LinkActed>;
