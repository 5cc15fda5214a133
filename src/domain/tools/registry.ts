/**
 * The tool registry and the one way a tool is invoked: policy (deny wins, high risk closed by
 * default), availability, argument schema, the run's roots, mount writes (read-only, then policy),
 * then the tool; every call audited with its tool, run, argument shape (never contents), outcome and
 * duration. Never sees a request object.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { AuditOutcome, AuditSink } from '../../audit/event.js';
import { GatewayError, isGatewayError, type ErrorCode } from '../../errors.js';
import type { CallContext, WorkspaceService } from '../workspaces/runs.js';
import { parseClientPath, rootOf, type Roots } from '../workspaces/scope.js';
import type { ToolPolicy } from './policy.js';
import { MOUNT_WRITE, type Risk, type ToolDefinition } from './types.js';

export interface ToolView {
  name: string;
  risk: Risk;
  description: string;
  /** Whether this token may invoke it (scope and policy). */
  allowed: boolean;
  /** Whether it can run on this gateway at all. */
  available: boolean;
}

export interface InvokeInput {
  run: string;
  tool: string;
  args: unknown;
}

interface Entry {
  def: ToolDefinition<unknown>;
  check: TypeCheck<TSchema>;
}

export interface ToolServiceOptions {
  tools: ReadonlyArray<ToolDefinition<never>>;
  policy: ToolPolicy;
  workspaces: Pick<WorkspaceService, 'rootsFor'>;
  audit: AuditSink;
  now?: () => number;
}

/** Refusals of the path rule and of the workspace quota: audited as blocked, not as errors. */
const BLOCKED = new Set<ErrorCode>(['path_invalid', 'path_outside_workspace', 'path_read_only', 'workspace_full']);

/** The shape of arguments for the audit log: types and lengths, never values (file contents, commands' arguments). */
export function argsShape(args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof args !== 'object' || args === null) return out;
  for (const [key, value] of Object.entries(args)) {
    if (typeof value === 'string') out[key] = `string:${value.length}`;
    else if (Array.isArray(value)) out[key] = `array:${value.length}`;
    else if (value === null) out[key] = 'null';
    else if (typeof value === 'object') out[key] = `object:${Object.keys(value).length}`;
    else out[key] = typeof value;
  }
  return out;
}

export class ToolService {
  private readonly byName = new Map<string, Entry>();
  private readonly denied = new Map<string, number>();
  private readonly now: () => number;

  private policy: ToolPolicy;

  constructor(private readonly opts: ToolServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.policy = opts.policy;
    this.setTools(opts.tools, opts.policy);
  }

  /** Puts a (checked) set of tools and policy in force: a live change of `tools`. */
  setTools(tools: ToolServiceOptions['tools'], policy: ToolPolicy): void {
    const byName = new Map<string, Entry>();
    for (const def of tools as ReadonlyArray<ToolDefinition<unknown>>) {
      if (byName.has(def.name)) throw new Error(`tool ${def.name} is registered twice`);
      byName.set(def.name, { def, check: TypeCompiler.Compile(def.args) });
    }
    this.byName.clear();
    for (const [k, v] of byName) this.byName.set(k, v);
    this.policy = policy;
  }

  /** Every tool with its risk and whether a token (holding scope tools or not) may call it. */
  list(canInvoke: boolean): { tools: ToolView[]; mountWrite: { risk: Risk; allowed: boolean } } {
    const tools = [...this.byName.values()].map(({ def }) => ({
      name: def.name,
      risk: def.risk,
      description: def.description,
      allowed: canInvoke && this.policy.decide(def.name).allowed,
      available: (def.unavailable?.() ?? null) === null,
    }));
    return { tools, mountWrite: { risk: 'high', allowed: canInvoke && this.policy.decideMountWrite().allowed } };
  }

  async invoke(input: InvokeInput, ctx: CallContext): Promise<{ result: unknown }> {
    const started = this.now();
    const entry = this.byName.get(input.tool);
    let targets: string[] = [];
    try {
      if (!entry) throw new GatewayError('tool_unknown', `no tool ${JSON.stringify(input.tool)} (GET /api/v1/tools lists them)`);
      const { def } = entry;
      const decision = this.policy.decide(def.name);
      if (!decision.allowed) throw new GatewayError('tool_denied', decision.reason, { extra: { tool: def.name, risk: def.risk } });
      const unavailable = def.unavailable?.() ?? null;
      if (unavailable !== null) throw new GatewayError('tool_unavailable', unavailable, { extra: { tool: def.name } });
      this.checkArgs(entry, input.args);
      const { roots } = this.opts.workspaces.rootsFor(input.run, ctx.viewer);
      targets = this.checkWrites(def, input.args, roots);
      const result = await def.run({ args: input.args, runId: input.run, roots, actor: ctx.actor, requestId: ctx.requestId });
      this.record(input, ctx, started, 'ok', targets);
      return { result };
    } catch (err) {
      const code = isGatewayError(err) ? err.code : 'internal';
      const outcome: AuditOutcome = code === 'tool_denied' ? 'denied' : BLOCKED.has(code) ? 'blocked' : 'error';
      this.record(input, ctx, started, outcome, targets, code);
      throw err;
    }
  }

  private checkArgs(entry: Entry, args: unknown): void {
    if (entry.check.Check(args)) return;
    const errors = [...entry.check.Errors(args)].slice(0, 10).map((e) => ({ path: `args${e.path.replace(/\//g, '.')}`, message: e.message }));
    throw new GatewayError('validation_failed', errors.map((e) => `${e.path} ${e.message}`).join('; '), { extra: { errors } });
  }

  /**
   * Writes into mounts: refused in a read-only mount (403 path_read_only), high risk in a writable
   * one (403 tool_denied unless mount.write is allowed). Returns where the call writes, for the audit.
   */
  private checkWrites(def: ToolDefinition<unknown>, args: unknown, roots: Roots): string[] {
    const labels: string[] = [];
    for (const path of def.writes?.(args) ?? []) {
      const root = rootOf(roots, parseClientPath(path));
      labels.push(root.mount === undefined ? 'workspace' : `mount:${root.mount}`);
      if (root.mount === undefined) continue;
      if (root.readOnly) throw new GatewayError('path_read_only', `${root.label} is read-only`);
      const decision = this.policy.decideMountWrite();
      if (!decision.allowed) throw new GatewayError('tool_denied', decision.reason, { extra: { tool: def.name, risk: 'high', policy: MOUNT_WRITE } });
    }
    return [...new Set(labels)];
  }

  /** Invocations refused by the tool policy since start, by tool (metrics). */
  denials(): Array<{ tool: string; count: number }> {
    return [...this.denied].map(([tool, count]) => ({ tool, count }));
  }

  private record(input: InvokeInput, ctx: CallContext, started: number, outcome: AuditOutcome, targets: string[], code?: ErrorCode): void {
    const tool = this.byName.get(input.tool)?.def;
    // Only known tools are denied (an unknown name is tool_unknown): the label stays bounded.
    if (outcome === 'denied' && tool) this.denied.set(tool.name, (this.denied.get(tool.name) ?? 0) + 1);
    this.opts.audit.record({
      type: outcome === 'denied' ? 'tool.denied' : 'tool.invoked',
      outcome,
      actor: ctx.actor,
      client: ctx.client,
      requestId: ctx.requestId,
      code,
      detail: {
        tool: tool ? tool.name : input.tool.slice(0, 64),
        run: input.run,
        ...(tool ? { risk: targets.some((t) => t.startsWith('mount:')) ? 'high' : tool.risk } : {}),
        args: argsShape(input.args),
        ...(targets.length > 0 ? { targets } : {}),
        durationMs: this.now() - started,
      },
    });
  }
}
