/**
 * The way out for agents, assembled: workspace options, the built-in tools, their policy and exec
 * runner (all checked at construction, before the socket opens), then at start the run workspaces,
 * the sandbox probe and the tool service. gateway.ts owns one of these; routes get its services.
 */
import type { AuditSink } from '../../audit/event.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observe/logger.js';
import type { RunStore } from '../../store/types.js';
import { checkWorkspaceOptions, type WorkspaceOptions } from '../workspaces/options.js';
import { WorkspaceService } from '../workspaces/runs.js';
import { WorkspaceUsage } from '../workspaces/usage.js';
import { execTool } from './exec.js';
import { ExecRunner } from './exec-runner.js';
import { fetchTool } from './fetch.js';
import { fsList, fsRead, type FsLimits } from './fs-read.js';
import { fsDelete, fsMove, fsWrite } from './fs-write.js';
import { ToolPolicy } from './policy.js';
import { ToolService } from './registry.js';
import { Sandbox } from './sandbox.js';
import type { Fetcher, Risk, ToolDefinition } from './types.js';

export interface ToolboxOptions {
  config: Readonly<Pick<Config, 'dataDir' | 'mounts' | 'workspaces' | 'tools'>>;
  /** The gateway's environment: commands get only the names listed in tools.exec.env. */
  sourceEnv: Readonly<Record<string, string | undefined>>;
  now?: () => number;
}

export interface ToolboxStart {
  store: RunStore;
  audit: AuditSink;
  log: Logger;
  /** The egress guard's client (Egress.request); without it http.fetch is unavailable. */
  fetcher?: Fetcher | null;
}

interface Built {
  policy: ToolPolicy;
  runner: ExecRunner;
  definitions: ReadonlyArray<ToolDefinition<never>>;
}

export class Toolbox {
  private built: Built;
  private workspaceOptions: WorkspaceOptions;
  private config: ToolboxOptions['config'];
  private workspaceService: WorkspaceService | null = null;
  private toolService: ToolService | null = null;
  private sandbox: Sandbox | null = null;
  private sandboxReason: string | null = 'not probed yet';
  private fetcher: Fetcher | null = null;
  /** Exec runners replaced by a live change whose commands still run (stopped with a run, or at shutdown). */
  private retired: ExecRunner[] = [];
  /** The workspace quota's ledgers: one for the gateway's life; the quotas in force are read at each use. */
  private readonly usage = new WorkspaceUsage({ workspace: () => this.config.tools.maxWorkspaceBytes, perOwner: () => this.config.tools.maxBytesPerToken });

  /** Checks mounts, client scope, exec env names and tool names (config_invalid / config_unsafe). */
  constructor(private readonly opts: ToolboxOptions) {
    this.config = opts.config;
    this.workspaceOptions = checkWorkspaceOptions(opts.config);
    this.built = this.build(opts.config.tools);
  }

  get policy(): ToolPolicy {
    return this.built.policy;
  }

  /** The tools, their exec runner and policy for a `tools` section (throws config_invalid). */
  private build(tools: ToolboxOptions['config']['tools']): Built {
    const runner = new ExecRunner(tools.exec, this.opts.sourceEnv, () => this.sandbox, this.opts.now);
    const files: FsLimits = {
      maxReadBytes: tools.maxReadBytes,
      maxWriteBytes: tools.maxWriteBytes,
      usage: this.usage,
      unavailable: () =>
        this.workspaceService?.fileToolsSupported ? null : 'file tools need /proc/self/fd (Linux) to open files without following swapped-in links',
    };
    const definitions = [
      fsList(files),
      fsRead(files),
      fsWrite(files),
      fsMove(files),
      fsDelete(files),
      fetchTool(() => this.fetcher),
      execTool(runner, tools.exec.timeoutMs, this.usage),
    ] as unknown as ReadonlyArray<ToolDefinition<never>>;
    const policy = new ToolPolicy(tools, new Map(definitions.map((d) => [d.name, d.risk] as [string, Risk])));
    return { policy, runner, definitions };
  }

  /**
   * A live change of `tools` or `mounts`: everything is checked and built first (a refusal changes
   * nothing); the commit puts it in force. Commands already running finish under the old limits.
   */
  prepare(next: ToolboxOptions['config']): () => void {
    const workspace = checkWorkspaceOptions(next);
    const built = this.build(next.tools);
    return () => {
      this.retired = [...this.retired, this.built.runner].filter((r) => r.busy);
      this.built = built;
      this.workspaceOptions = workspace;
      this.config = next;
      this.workspaceService?.setWorkspace(workspace);
      this.toolService?.setTools(built.definitions, built.policy);
    };
  }

  async start(s: ToolboxStart): Promise<void> {
    this.fetcher = s.fetcher ?? null;
    const workspaces = new WorkspaceService({
      dataDir: this.config.dataDir,
      workspace: this.workspaceOptions,
      store: s.store,
      audit: s.audit,
      log: s.log,
      stopCommands: (runId) => this.stopCommands(runId),
      usage: this.usage,
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
    workspaces.start();
    this.usage.setWorkspacesOf((owner) => workspaces.workspacesOf(owner));
    this.workspaceService = workspaces;
    if (this.config.tools.exec.sandbox !== 'off') {
      const probe = await Sandbox.probe(this.opts.sourceEnv['PATH']);
      this.sandbox = probe.sandbox;
      this.sandboxReason = probe.reason;
    } else {
      this.sandboxReason = 'tools.exec.sandbox is off';
    }
    this.toolService = new ToolService({
      tools: this.built.definitions,
      policy: this.built.policy,
      workspaces,
      audit: s.audit,
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
  }

  stop(): void {
    for (const runner of [this.built.runner, ...this.retired]) runner.stop();
    this.retired = [];
    this.workspaceService?.stop();
  }

  /** Kills a run's commands, under the current exec limits or the ones before a live change. */
  private async stopCommands(runId: string): Promise<number> {
    const counts = await Promise.all([this.built.runner, ...this.retired].map((r) => r.stopRun(runId)));
    this.retired = this.retired.filter((r) => r.busy);
    return counts.reduce((a, b) => a + b, 0);
  }

  get workspaces(): WorkspaceService {
    if (!this.workspaceService) throw new Error('toolbox not started');
    return this.workspaceService;
  }

  get tools(): ToolService {
    if (!this.toolService) throw new Error('toolbox not started');
    return this.toolService;
  }

  /** Whether exec commands run in the bubblewrap sandbox (for moat doctor), and why not. */
  sandboxStatus(): { available: boolean; reason: string | null } {
    return { available: this.sandbox !== null, reason: this.sandbox ? null : this.sandboxReason };
  }

  /** Weakenings to log and audit at boot: opened high-risk tools, exec without its sandbox. */
  warnings(): string[] {
    const out: string[] = [];
    const opened = this.policy.openedHighRisk();
    if (opened.length > 0) out.push(`tools.allow opens high-risk tools over HTTP: ${opened.join(', ')}`);
    const exec = this.config.tools.exec;
    if (opened.includes('exec') && this.sandbox === null && exec.sandbox !== 'required') {
      out.push(`exec runs commands without a sandbox (${this.sandboxReason}): they see the host as the gateway's user, and the network`);
    }
    if (opened.includes('exec') && this.sandbox === null && exec.sandbox === 'required') {
      out.push(`exec is unavailable: tools.exec.sandbox is required and ${this.sandboxReason}`);
    }
    return out;
  }
}
