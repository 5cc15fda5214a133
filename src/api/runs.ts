/** What the API answers about runs, tools and the workspace policy (/api/v1/runs, /api/v1/tools, /api/v1/workspace). Schema only. */
import { Type, type Static } from '@sinclair/typebox';

export const RunView = Type.Object({
  id: Type.String(),
  service: Type.Union([Type.String(), Type.Null()]),
  input: Type.Unknown({ description: 'What the client gave at creation (JSON), or null.' }),
  workspace: Type.Object({
    mounts: Type.Array(Type.String(), { description: 'Operator mounts this run includes (mount:<name>/...).' }),
    root: Type.Union([Type.String(), Type.Null()], { description: 'Client-chosen root under the client-scope base, or null for a workspace of its own.' }),
  }),
  createdBy: Type.String(),
  createdAt: Type.String(),
});
export type RunView = Static<typeof RunView>;

export const RunList = Type.Object({ runs: Type.Array(RunView) });
export type RunList = Static<typeof RunList>;

const Risk = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]);

export const ToolList = Type.Object({
  tools: Type.Array(
    Type.Object({
      name: Type.String(),
      risk: Risk,
      description: Type.String(),
      allowed: Type.Boolean({ description: 'Whether this token may invoke it (scope tools and the tool policy).' }),
      available: Type.Boolean({ description: 'Whether it can run on this gateway (sandbox, egress guard).' }),
    }),
  ),
  mountWrite: Type.Object({ risk: Risk, allowed: Type.Boolean() }, { description: 'Writes, moves and deletes in writable mounts (policy name mount.write).' }),
});
export type ToolList = Static<typeof ToolList>;

export const ToolResult = Type.Object({ result: Type.Unknown() });
export type ToolResult = Static<typeof ToolResult>;

export const WorkspacePolicy = Type.Object({
  mode: Type.Union([Type.Literal('per-run'), Type.Literal('client-scope')], {
    description: "`per-run`: every run gets a workspace of its own; `client-scope`: a client may choose a root under the operator's base.",
  }),
  mounts: Type.Array(Type.Object({ name: Type.String(), readOnly: Type.Boolean() })),
});
export type WorkspacePolicy = Static<typeof WorkspacePolicy>;
