/**
 * The workspace disk quota (tools.maxWorkspaceBytes): what each run's workspace holds, counted by an
 * asynchronous walk that never follows a link (at first use, and again after a command ran in it),
 * then kept by the file tools' own changes. A change that would take a workspace over the quota is refused before
 * anything is written (507 workspace_full). Knows nothing of tools, runs or HTTP.
 */
import { closeSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { GatewayError } from '../../errors.js';
import type { ResolvedPath, ScopeRoot } from './scope.js';
import { PROC_FD, at, fsProblem, lstatOrNull, openChildDir, openDirIn, openScopedParent } from './scoped-fs.js';

/**
 * The unit of accounting, a file system block. Every entry costs at least one, so that a flood of
 * empty files or directories (inode exhaustion) is not free: 1 GiB is at most 262,144 entries.
 */
export const BLOCK_BYTES = 4096;
/**
 * Directories deeper than this are counted as one block and not walked (each level holds a
 * descriptor). A client path names at most 512 levels; only a command can make deeper ones.
 */
const MAX_WALK_DEPTH = 600;

/** What a file of `size` bytes costs: whole blocks, at least one. */
export function fileBytes(size: number): number {
  return Math.max(1, Math.ceil(size / BLOCK_BYTES)) * BLOCK_BYTES;
}

/** What one entry costs as lstat sees it (a link is one block; its target is never counted through it). */
export function entryBytes(st: Stats): number {
  return st.isFile() ? fileBytes(st.size) : BLOCK_BYTES;
}

/** lstat calls in flight at once during a walk (they run on libuv's thread pool). */
const LSTAT_BATCH = 64;

function lstatEntry(path: string): Promise<Stats | null> {
  return lstat(path).then(
    (st) => st,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : fsProblem(err)),
  );
}

/**
 * Bytes below the directory held by `fd`, links never followed. Asynchronous: a workspace of a
 * quarter of a million entries takes seconds to walk, and the gateway keeps answering meanwhile.
 */
async function walkDir(fd: number, depth: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir(`${PROC_FD}/${fd}`);
  } catch (err) {
    return fsProblem(err);
  }
  let total = 0;
  for (let i = 0; i < names.length; i += LSTAT_BATCH) {
    const batch = names.slice(i, i + LSTAT_BATCH);
    const stats = await Promise.all(batch.map((name) => lstatEntry(at(fd, name))));
    for (let j = 0; j < batch.length; j++) {
      const st = stats[j];
      if (!st) continue;
      total += entryBytes(st);
      if (!st.isDirectory() || depth >= MAX_WALK_DEPTH) continue;
      let child: number;
      try {
        child = openChildDir(fd, batch[j] as string, false);
      } catch {
        continue; // gone, or swapped for a link during the walk: counted as the one block above
      }
      try {
        total += await walkDir(child, depth + 1);
      } finally {
        closeSync(child);
      }
    }
  }
  return total;
}

/** Bytes a whole root holds (the root directory itself is not counted). */
async function walkRoot(root: ScopeRoot): Promise<number> {
  const dir = openDirIn(root, [], false);
  try {
    return await walkDir(dir.fd, 0);
  } finally {
    dir.close();
  }
}

/** Bytes the entry a resolved path names holds: a file, a link, or a directory and all below it. */
export async function measureScoped(r: ResolvedPath): Promise<number> {
  const { dir, leaf } = openScopedParent(r);
  try {
    const st = lstatOrNull(dir.at(leaf));
    if (st === null) return 0;
    if (!st.isDirectory()) return entryBytes(st);
    const fd = openChildDir(dir.fd, leaf, false);
    try {
      return BLOCK_BYTES + (await walkDir(fd, 1));
    } finally {
      closeSync(fd);
    }
  } finally {
    dir.close();
  }
}

interface Ledger {
  /** Whose runs this workspace counts against (tools.maxBytesPerToken), or null. */
  owner: string | null;
  /** Bytes the workspace holds, as of the last walk plus every change since. */
  used: number;
  /** Bytes promised to changes under way (admitted, not yet done). */
  reserved: number;
  /** Walked at least once: `used` means something. */
  counted: boolean;
  /** False until walked, and again after something the ledger does not see (a command) wrote. */
  fresh: boolean;
  /** The walk under way, which every change of this workspace waits for. */
  walking: Promise<void> | null;
  /** Bumped by markStale: a walk that began before a command ended does not make the ledger fresh. */
  generation: number;
}

/** Room admitted for one change: commit it when done, release it when the change failed. */
export interface Reservation {
  /** The change is done and grew the workspace by `actual` bytes (default: what was reserved). */
  commit(actual?: number): void;
  release(): void;
}

export interface UsageLimits {
  /** tools.maxWorkspaceBytes, read at every use (a live key). */
  workspace(): number;
  /** tools.maxBytesPerToken, read at every use (a live key). */
  perOwner(): number;
}

export class WorkspaceUsage {
  /** By the workspace's real host path (runs sharing a client-chosen root share its ledger). */
  private readonly ledgers = new Map<string, Ledger>();
  private readonly byOwner = new Map<string, Map<string, { root: ScopeRoot; ledger: Ledger }>>();
  /** Owners whose every workspace has been counted (or is being counted). */
  private readonly owners = new Map<string, Promise<void>>();
  /** The workspaces of an owner's runs (set by the run service once started). */
  private workspacesOf: (owner: string) => ScopeRoot[] = () => [];

  constructor(private readonly limits: UsageLimits) {}

  /** Where the workspaces of an owner's runs are: counted together at the owner's first change. */
  setWorkspacesOf(list: (owner: string) => ScopeRoot[]): void {
    this.workspacesOf = list;
  }

  private entry(root: ScopeRoot, owner: string | null): Ledger {
    let l = this.ledgers.get(root.hostPath);
    if (!l) {
      l = { owner, used: 0, reserved: 0, counted: false, fresh: false, walking: null, generation: 0 };
      this.ledgers.set(root.hostPath, l);
      if (owner !== null) {
        const mine = this.byOwner.get(owner) ?? new Map<string, { root: ScopeRoot; ledger: Ledger }>();
        mine.set(root.hostPath, { root, ledger: l });
        this.byOwner.set(owner, mine);
      }
    }
    return l;
  }

  private async walk(root: ScopeRoot, l: Ledger): Promise<void> {
    const generation = l.generation;
    try {
      l.used = await walkRoot(root);
      l.counted = true;
      l.fresh = l.generation === generation;
    } finally {
      l.walking = null;
    }
  }

  private async count(root: ScopeRoot, l: Ledger): Promise<void> {
    if (l.fresh) return;
    l.walking ??= this.walk(root, l);
    await l.walking;
  }

  /**
   * Counts the workspace if it is not counted or a command wrote in it since, and, at an owner's
   * first change, every workspace of the owner's runs (and again any a command wrote in). Every
   * change awaits this first, then admits, acts and settles without awaiting anything (so no other
   * change runs in between; reservations would keep it right if one did).
   */
  async ready(root: ScopeRoot): Promise<void> {
    const owner = root.owner ?? null;
    const l = this.entry(root, owner);
    if (owner !== null) {
      let all = this.owners.get(owner);
      if (!all) {
        // A workspace that cannot be walked (gone with its run meanwhile) is left out, not fatal.
        all = Promise.all(this.workspacesOf(owner).map((r) => this.count(r, this.entry(r, owner)).catch(() => undefined))).then(() => undefined);
        this.owners.set(owner, all);
      }
      await all;
      for (const { root: r, ledger } of this.byOwner.get(owner)?.values() ?? []) if (!ledger.fresh && ledger !== l) await this.count(r, ledger);
    }
    await this.count(root, l);
  }

  private counted(root: ScopeRoot): Ledger {
    const l = this.ledgers.get(root.hostPath);
    if (!l?.counted) throw new Error('workspace usage asked before ready()');
    return l;
  }

  /** Bytes the workspace holds (counting it first if needed). */
  async used(root: ScopeRoot): Promise<number> {
    await this.ready(root);
    return this.counted(root).used;
  }

  /** Bytes every workspace of the owner's runs holds or has promised. */
  private ownerUsed(owner: string): number {
    let sum = 0;
    for (const { ledger } of this.byOwner.get(owner)?.values() ?? []) sum += ledger.used + ledger.reserved;
    return sum;
  }

  private full(used: number, limit: number, need: number, what: string, key: 'tools.maxWorkspaceBytes' | 'tools.maxBytesPerToken'): GatewayError {
    const holder = key === 'tools.maxWorkspaceBytes' ? 'the workspace holds' : "this token's runs hold";
    const detail =
      need > 0
        ? `${what} needs ${need} bytes more and ${holder} ${used} of ${key} (${limit}); delete files or runs to make room`
        : `${holder} ${used} bytes, over ${key} (${limit}); delete files or runs to make room`;
    return new GatewayError('workspace_full', detail, { extra: { quota: key, usedBytes: used, neededBytes: Math.max(0, need), limitBytes: limit } });
  }

  /**
   * Admits a change that grows the workspace by `bytes` (negative: shrinks it), or throws 507
   * workspace_full (the workspace's quota, then its owner's); after ready(). Disk filling by many
   * writes at once: the room is held from here until commit or release, so two changes in flight
   * can never both be admitted into the same free space.
   */
  reserve(root: ScopeRoot, bytes: number, what: string): Reservation {
    const l = this.counted(root);
    const held = Math.max(0, bytes);
    if (held > 0) {
      const limit = this.limits.workspace();
      if (l.used + l.reserved + held > limit) throw this.full(l.used + l.reserved, limit, held, what, 'tools.maxWorkspaceBytes');
      if (l.owner !== null) {
        const total = this.ownerUsed(l.owner);
        const perOwner = this.limits.perOwner();
        if (total + held > perOwner) throw this.full(total, perOwner, held, what, 'tools.maxBytesPerToken');
      }
    }
    l.reserved += held;
    let settled = false;
    return {
      commit: (actual = bytes) => {
        if (settled) return;
        settled = true;
        l.reserved -= held;
        l.used = Math.max(0, l.used + actual);
      },
      release: () => {
        if (settled) return;
        settled = true;
        l.reserved -= held;
      },
    };
  }

  /** Refuses (507 workspace_full) when the workspace, or its owner's runs, hold more than their quota (a command took them over); after ready(). */
  refuseOver(root: ScopeRoot, what: string): void {
    const l = this.counted(root);
    const limit = this.limits.workspace();
    if (l.used + l.reserved > limit) throw this.full(l.used + l.reserved, limit, 0, what, 'tools.maxWorkspaceBytes');
    if (l.owner === null) return;
    const total = this.ownerUsed(l.owner);
    const perOwner = this.limits.perOwner();
    if (total > perOwner) throw this.full(total, perOwner, 0, what, 'tools.maxBytesPerToken');
  }

  /** A change already done that the caller measured (a delete frees, a move out of the workspace frees). */
  charge(root: ScopeRoot, bytes: number): void {
    const l = this.ledgers.get(root.hostPath);
    if (l?.fresh) l.used = Math.max(0, l.used + bytes);
  }

  /** Something the ledger does not see wrote in the workspace (a command): walk it again at next use. */
  markStale(root: ScopeRoot): void {
    const l = this.ledgers.get(root.hostPath);
    if (!l) return;
    l.fresh = false;
    l.generation++;
  }

  /** The workspace is gone (its run was deleted). */
  forget(hostPath: string): void {
    const l = this.ledgers.get(hostPath);
    if (!l) return;
    this.ledgers.delete(hostPath);
    if (l.owner !== null) this.byOwner.get(l.owner)?.delete(hostPath);
  }
}
