/**
 * Runs and their workspaces: create (a 0700 directory of its own under <dataDir>/workspaces/, or a
 * client-chosen root when the operator allows it), read, list, delete (the workspace goes with it),
 * and the roots a tool call may reach. A run is visible to the token that created it and to admin.
 * Never shows a host path to clients.
 */
import { mkdirSync, realpathSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditSink } from '../../audit/event.js';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observe/logger.js';
import { randomId } from '../../crypto/tokens.js';
import { ensureDir } from '../../store/files.js';
import type { RunRecord, RunStore } from '../../store/types.js';
import type { WorkspaceOptions } from './options.js';
import { displayPath, parseClientPath, resolveClientPath, type Roots, type ScopeRoot } from './scope.js';
import { openScopedDir, scopedFsSupported } from './scoped-fs.js';
import { removeTreeBelow } from './scoped-write.js';
import type { WorkspaceUsage } from './usage.js';
import type { Actor } from '../../api/actor.js';
import { dataDirPaths } from '../../api/data-dir.js';

/** Who is asking: runs of other tokens are invisible unless `admin`. */
export interface Viewer {
  id: string;
  admin: boolean;
}

export interface CallContext {
  actor: Actor;
  viewer: Viewer;
  client?: string | undefined;
  requestId?: string | undefined;
}

export interface CreateRunInput {
  service?: string | undefined;
  input?: unknown;
  workspace?: { mounts?: string[] | undefined; root?: string | undefined } | undefined;
}

export interface RunView {
  id: string;
  service: string | null;
  input: unknown;
  workspace: { mounts: string[]; root: string | null };
  createdBy: string;
  createdAt: string;
}

export interface WorkspacePolicy {
  mode: 'per-run' | 'client-scope';
  mounts: Array<{ name: string; readOnly: boolean }>;
}

export interface WorkspaceServiceOptions {
  dataDir: string;
  workspace: WorkspaceOptions;
  store: RunStore;
  audit: AuditSink;
  log: Logger;
  now?: () => number;
  /** Kills the commands a run has running; resolves with how many once they have exited. */
  stopCommands?: (runId: string) => Promise<number>;
  /** The workspace quota's ledgers: a deleted run's is dropped. */
  usage?: WorkspaceUsage;
}

/** Runs of one principal whose workspaces the quota per token counts (far more than anyone keeps). */
const MAX_RUNS_COUNTED = 100_000;

/** Serialised `input` kept with a run, in bytes. */
export const MAX_INPUT_BYTES = 65_536;
export const RUN_ID_PATTERN = '^run_[A-Za-z0-9_-]{12}$';

function view(r: RunRecord): RunView {
  return {
    id: r.id,
    service: r.service,
    input: r.input === null ? null : (JSON.parse(r.input) as unknown),
    workspace: { mounts: r.mounts, root: r.clientRoot },
    createdBy: r.createdBy,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

export class WorkspaceService {
  private readonly now: () => number;
  /** Mounts and client scope in force (replaced by a live change of `mounts`). */
  private workspace: WorkspaceOptions;
  private base: ScopeRoot | null = null;
  private supported = false;

  constructor(private readonly opts: WorkspaceServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.workspace = opts.workspace;
  }

  /** Puts checked workspace options (mounts) in force; runs naming a removed mount lose it. */
  setWorkspace(workspace: WorkspaceOptions): void {
    this.workspace = workspace;
  }

  /** Creates <dataDir>/workspaces (0700) and checks that scoped opens work on this system. */
  start(): void {
    const dir = dataDirPaths(this.opts.dataDir).workspaces;
    ensureDir(dir);
    this.base = { label: 'workspaces', hostPath: realpathSync(dir), readOnly: false };
    this.supported = scopedFsSupported();
    if (!this.supported) this.opts.log.warn('file tools are unavailable: /proc/self/fd (Linux) is needed to open files without following swapped-in links');
  }

  stop(): void {
    this.base = null;
  }

  /** Whether file tools can run here (false without /proc/self/fd). */
  get fileToolsSupported(): boolean {
    return this.supported;
  }

  /** The mode and the mount names; never a host path. */
  policy(): WorkspacePolicy {
    return {
      mode: this.workspace.clientScopeBase ? 'client-scope' : 'per-run',
      mounts: [...this.workspace.mounts.values()].map((m) => ({ name: m.mount as string, readOnly: m.readOnly })),
    };
  }

  private get workspacesRoot(): ScopeRoot {
    if (!this.base) throw new Error('workspace service not started');
    return this.base;
  }

  create(input: CreateRunInput, ctx: CallContext): RunView {
    const mounts = [...new Set(input.workspace?.mounts ?? [])];
    for (const name of mounts) {
      if (!this.workspace.mounts.has(name))
        throw new GatewayError('validation_failed', `workspace.mounts: no mount named ${JSON.stringify(name)} (GET /api/v1/workspace/policy lists them)`);
    }
    let inputJson: string | null = null;
    if (input.input !== undefined) {
      inputJson = JSON.stringify(input.input);
      if (Buffer.byteLength(inputJson) > MAX_INPUT_BYTES) throw new GatewayError('validation_failed', `input: over ${MAX_INPUT_BYTES} bytes as JSON`);
    }
    const id = randomId('run');
    let clientRoot: string | null = null;
    if (input.workspace?.root !== undefined) {
      clientRoot = this.openClientRoot(input.workspace.root);
    } else {
      mkdirSync(join(this.workspacesRoot.hostPath, id), { mode: 0o700 });
    }
    const record: RunRecord = { id, service: input.service ?? null, input: inputJson, mounts, clientRoot, createdBy: ctx.actor.id, createdAt: this.now() };
    try {
      this.opts.store.insert(record);
    } catch (err) {
      if (clientRoot === null) rmdirSync(join(this.workspacesRoot.hostPath, id));
      throw err;
    }
    this.opts.audit.record({
      type: 'run.created',
      outcome: 'ok',
      actor: ctx.actor,
      client: ctx.client,
      requestId: ctx.requestId,
      detail: { runId: id, service: record.service, mounts, clientScope: clientRoot !== null },
    });
    return view(record);
  }

  /** Client scope: a root the client names under the operator's base, through the path rule. */
  private openClientRoot(root: string): string {
    const base = this.workspace.clientScopeBase;
    if (!base) throw new GatewayError('path_outside_workspace', 'workspace.root needs workspaces.allowClientScope; runs get a workspace of their own');
    const parsed = parseClientPath(root);
    if (parsed.mount !== null) throw new GatewayError('path_invalid', 'workspace.root is a path under the client-scope base, not a mount');
    const resolved = resolveClientPath({ workspace: base, mounts: new Map() }, root, 'write');
    openScopedDir(resolved, { create: true }).close();
    return displayPath(parsed);
  }

  private find(id: string, viewer: Viewer): RunRecord {
    const r = this.opts.store.get(id);
    // Another token's run answers like a missing one: ids are not a way to probe.
    if (!r || (!viewer.admin && r.createdBy !== viewer.id)) throw new GatewayError('run_not_found', `no run ${JSON.stringify(id)}`);
    return r;
  }

  get(id: string, viewer: Viewer): RunView {
    return view(this.find(id, viewer));
  }

  list(viewer: Viewer, limit: number): RunView[] {
    return this.opts.store.list({ createdBy: viewer.admin ? undefined : viewer.id, limit }).map(view);
  }

  /**
   * Deletes the run: its record first, then its running commands are killed (and have exited, so
   * that nothing writes into the workspace after it is gone), then its own workspace (a
   * client-chosen root is left in place).
   */
  async delete(id: string, ctx: CallContext): Promise<RunView> {
    const r = this.find(id, ctx.viewer);
    // The row goes first: from here on no tool call (and no second DELETE) finds the run, so no
    // command can start in it while the running ones are stopped.
    this.opts.store.delete(r.id);
    const commandsStopped = (await this.opts.stopCommands?.(r.id)) ?? 0;
    const removed = r.clientRoot === null ? removeTreeBelow(this.workspacesRoot, r.id) : 0;
    // A client-chosen root stays, and other runs may share it: its ledger stays with it.
    if (r.clientRoot === null) this.opts.usage?.forget(join(this.workspacesRoot.hostPath, r.id));
    this.opts.audit.record({
      type: 'run.deleted',
      outcome: 'ok',
      actor: ctx.actor,
      client: ctx.client,
      requestId: ctx.requestId,
      detail: { runId: r.id, entriesRemoved: removed, commandsStopped },
    });
    return view(r);
  }

  /** What a tool call in this run may reach: its workspace and the mounts it includes. */
  rootsFor(id: string, viewer: Viewer): { run: RunView; roots: Roots } {
    const r = this.find(id, viewer);
    const mounts = new Map<string, ScopeRoot>();
    for (const name of r.mounts) {
      const m = this.workspace.mounts.get(name);
      if (m) mounts.set(name, m); // a mount removed from the config since is simply gone
    }
    return { run: view(r), roots: { workspace: this.workspaceRoot(r), mounts } };
  }

  /** The workspaces of a principal's runs (the workspace quota counts them together). */
  workspacesOf(owner: string): ScopeRoot[] {
    const out: ScopeRoot[] = [];
    for (const r of this.opts.store.list({ createdBy: owner, limit: MAX_RUNS_COUNTED })) {
      try {
        out.push(this.workspaceRoot(r));
      } catch {
        /* a client-chosen root that client scope no longer allows: out of reach, not counted */
      }
    }
    return out;
  }

  private workspaceRoot(r: RunRecord): ScopeRoot {
    if (r.clientRoot === null) return { label: 'the workspace', hostPath: join(this.workspacesRoot.hostPath, r.id), readOnly: false, owner: r.createdBy };
    const base = this.workspace.clientScopeBase;
    if (!base) throw new GatewayError('path_outside_workspace', 'this run has a client-chosen root, and workspaces.allowClientScope is now off');
    // Re-resolved on every call: a link swapped into the base since creation is caught here.
    const resolved = resolveClientPath({ workspace: base, mounts: new Map() }, r.clientRoot, 'read');
    return { label: 'the workspace', hostPath: resolved.hostPath, readOnly: false, owner: r.createdBy };
  }

  /**
   * Host path of a run's workspace, for handing it to a service a job runs in (server side only;
   * never in a reply). With a viewer, another token's run is not found.
   */
  workspacePathOf(id: string, viewer: Viewer = { id: 'system', admin: true }): string {
    return this.workspaceRoot(this.find(id, viewer)).hostPath;
  }
}
