/** The exec tool: argv (no shell) in the run's workspace, through ExecRunner; high risk. */
import { Type } from '@sinclair/typebox';
import { GatewayError } from '../../errors.js';
import { resolveClientPath } from '../workspaces/scope.js';
import { openScopedDir } from '../workspaces/scoped-fs.js';
import type { WorkspaceUsage } from '../workspaces/usage.js';
import type { ExecRunner } from './exec-runner.js';
import type { ToolDefinition } from './types.js';

const ExecArgs = Type.Object(
  {
    argv: Type.Array(Type.String({ maxLength: 32_768 }), { minItems: 1, maxItems: 1024, description: 'Program and arguments; never run through a shell.' }),
    cwd: Type.Optional(Type.String({ description: 'Working directory relative to the workspace (default: its root).' })),
    stdin: Type.Optional(Type.String({ description: 'Text given on standard input (default: none).' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Wall time in milliseconds; at most tools.exec.timeoutMs.' })),
  },
  { additionalProperties: false },
);
interface ExecArgs {
  argv: string[];
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
}

/**
 * The workspace quota and exec: what a command writes is not seen as it happens. A workspace a
 * command took over the quota refuses the next command (507 workspace_full), and after every command
 * the workspace is counted again at its next use, so fs.write sees what the command left.
 */
export function execTool(runner: ExecRunner, maxTimeoutMs: number, usage: WorkspaceUsage): ToolDefinition<ExecArgs> {
  return {
    name: 'exec',
    risk: 'high',
    description: `Run a command: {argv, cwd?, stdin?, timeoutMs?} -> {exitCode, signal, stdout, stderr, truncated, timedOut, stopped, durationMs, sandboxed}; at most ${maxTimeoutMs} ms.`,
    args: ExecArgs,
    unavailable: () => runner.unavailable(),
    async run({ args, roots, runId }) {
      if ((args.argv[0] as string).length === 0) throw new GatewayError('validation_failed', 'args.argv[0] (the program) is empty');
      // Said no, never clamped: a longer wait than the operator allows is refused.
      if (args.timeoutMs !== undefined && args.timeoutMs > maxTimeoutMs) {
        throw new GatewayError('validation_failed', `args.timeoutMs is over tools.exec.timeoutMs (${maxTimeoutMs} ms)`);
      }
      const cwd = resolveClientPath(roots, args.cwd ?? '.', 'read');
      if (cwd.root !== roots.workspace) throw new GatewayError('path_outside_workspace', 'exec runs in the workspace, not in a mount');
      openScopedDir(cwd).close(); // exists, is a directory, is inside
      await usage.ready(roots.workspace);
      usage.refuseOver(roots.workspace, 'exec');
      try {
        return await runner.run({
          argv: args.argv,
          cwdHost: cwd.hostPath,
          cwdRelative: cwd.realSegments.join('/'),
          workspaceHost: roots.workspace.hostPath,
          stdin: args.stdin,
          timeoutMs: args.timeoutMs ?? maxTimeoutMs,
          runId,
        });
      } finally {
        usage.markStale(roots.workspace);
      }
    },
  };
}
