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

export class WorkspaceUsage {
  /** By the workspace's real host path (runs sharing a client-chosen root share its ledger). */
  private readonly ledgers = new Map<string, Ledger>();

  /** `limit` is read at every use: tools.maxWorkspaceBytes is a live key. */
  constructor(private readonly limit: () => number) {}

  private entry(root: ScopeRoot): Ledger {
    let l = this.ledgers.get(root.hostPath);
    if (!l) {
      l = { used: 0, reserved: 0, counted: false, fresh: false, walking: null, generation: 0 };
      this.ledgers.set(root.hostPath, l);
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

  /**
   * Counts the workspace if it is not counted or a command wrote in it since; every change awaits
   * this first, then admits, acts and settles without awaiting anything (so no other change of the
   * same workspace runs in between; reservations would keep it right if one did).
   */
  async ready(root: ScopeRoot): Promise<void> {
    const l = this.entry(root);
    if (l.fresh) return;
    l.walking ??= this.walk(root, l);
    await l.walking;
  }

  private counted(root: ScopeRoot): Ledger {
    const l = this.entry(root);
    if (!l.counted) throw new Error('workspace usage asked before ready()');
    return l;
  }

  /** Bytes the workspace holds (counting it first if needed). */
  async used(root: ScopeRoot): Promise<number> {
    await this.ready(root);
    return this.counted(root).used;
  }

  private full(l: Ledger, limit: number, need: number, what: string): GatewayError {
    const used = l.used + l.reserved;
    const detail =
      need > 0
        ? `${what} needs ${need} bytes more and the workspace holds ${used} of tools.maxWorkspaceBytes (${limit}); delete files or the run to make room`
        : `the workspace holds ${used} bytes, over tools.maxWorkspaceBytes (${limit}); delete files or the run to make room`;
    return new GatewayError('workspace_full', detail, { extra: { usedBytes: used, neededBytes: Math.max(0, need), maxWorkspaceBytes: limit } });
  }

  /**
   * Admits a change that grows the workspace by `bytes` (negative: shrinks it), or throws 507
   * workspace_full; after ready(). Disk filling by many writes at once: the room is held from here until commit or
   * release, so two changes in flight can never both be admitted into the same free space.
   */
  reserve(root: ScopeRoot, bytes: number, what: string): Reservation {
    const l = this.counted(root);
    const limit = this.limit();
    const held = Math.max(0, bytes);
    if (held > 0 && l.used + l.reserved + held > limit) throw this.full(l, limit, held, what);
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

  /** Refuses (507 workspace_full) when the workspace holds more than the quota (a command took it over); after ready(). */
  refuseOver(root: ScopeRoot, what: string): void {
    const l = this.counted(root);
    const limit = this.limit();
    if (l.used + l.reserved > limit) throw this.full(l, limit, 0, what);
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
    this.ledgers.delete(hostPath);
  }
}
