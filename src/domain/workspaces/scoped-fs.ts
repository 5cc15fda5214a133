/**
 * Opening what the path rule resolved without following a symbolic link swapped in after the check
 * (symlink race, TOCTOU): every component is opened relative to its parent's descriptor with
 * O_NOFOLLOW, through /proc/self/fd/<fd>/<name> (openat semantics on Linux), and each opened
 * descriptor's own path is checked against the root. Files are opened and listed only through these
 * functions (changes: scoped-write.ts); nothing here joins a client string onto a path.
 */
import { closeSync, constants as C, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { GatewayError } from '../../errors.js';
import { isInside, refuseNonDirectory, type ResolvedPath, type ScopeRoot } from './scope.js';

export const PROC_FD = '/proc/self/fd';
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** Whether /proc/self/fd gives openat semantics here (Linux). Without it, file tools are unavailable. */
export function scopedFsSupported(): boolean {
  if (process.platform !== 'linux') return false;
  let fd: number | null = null;
  try {
    fd = openSync('/', C.O_RDONLY | C.O_DIRECTORY);
    return readlinkSync(`${PROC_FD}/${fd}`) === '/' && lstatSync(`${PROC_FD}/${fd}/.`).isDirectory();
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

type RaceHook = (resolved: ResolvedPath) => void;
let raceHook: RaceHook | null = null;

/**
 * Tests only: a function run between the path check and the open, so that a test can swap a
 * symbolic link in deterministically. Not reachable from configuration or HTTP; null in production.
 */
export function setRaceHookForTests(hook: RaceHook | null): void {
  raceHook = hook;
}

export function failed(reason: string, detail: string): never {
  throw new GatewayError('tool_failed', detail, { extra: { reason } });
}

function outside(detail: string): never {
  throw new GatewayError('path_outside_workspace', detail);
}

const SWAPPED = 'a symbolic link appeared on the path during the call';

/** File-system errors as problems with stable codes; the message (which holds host paths) is never echoed. */
export function fsProblem(err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      throw new GatewayError('not_found', 'no such file or directory');
    case 'EISDIR':
      return failed('is_a_directory', 'the path is a directory');
    case 'ENOTDIR':
      return failed('not_a_directory', 'a segment of the path is not a directory');
    case 'ENOTEMPTY':
      return failed('not_empty', 'the directory is not empty');
    case 'EEXIST':
      return failed('exists', 'the destination exists');
    case 'EXDEV':
      return failed('cross_device', 'source and destination are on different file systems');
    case 'EINVAL':
      return failed('into_itself', 'a directory cannot be moved into itself');
    case 'EACCES':
    case 'EPERM':
      return failed('permission_denied', 'permission denied');
    case 'EROFS':
      throw new GatewayError('path_read_only', 'the file system is read-only');
    case 'ELOOP':
      return outside(SWAPPED);
    case 'ESTALE':
      throw new GatewayError('path_changed', 'a directory on the path was replaced during the call; retry');
    default:
      if (typeof code === 'string') failed('io_error', `the file system refused (${code})`);
      throw err;
  }
}

/** A directory held open by descriptor; `at(name)` names an entry of it (openat-style). */
export class PinnedDir {
  constructor(
    readonly fd: number,
    readonly root: ScopeRoot,
  ) {}
  at(name: string): string {
    return `${PROC_FD}/${this.fd}/${name}`;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** An entry of the directory held by `fd` (openat-style). */
export const at = (fd: number, name: string) => `${PROC_FD}/${fd}/${name}`;

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return fsProblem(err);
  }
}

/** The descriptor's own path must be inside the root (a swapped directory, or the root itself moved). */
function verifyInside(fd: number, root: ScopeRoot): void {
  const path = readlinkSync(`${PROC_FD}/${fd}`).replace(/ \(deleted\)$/, '');
  if (!isInside(root.hostPath, path)) outside(`the path left ${root.label} during the call`);
}

/** Opens `name` below the directory `parentFd` as a directory, never following a symbolic link. */
export function openChildDir(parentFd: number, name: string, create: boolean): number {
  const path = at(parentFd, name);
  try {
    return openSync(path, DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && create) {
      try {
        mkdirSync(path, 0o700);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') fsProblem(e);
      }
      return openChildDir(parentFd, name, false);
    }
    // O_NOFOLLOW|O_DIRECTORY on a link fails with ENOTDIR (or ELOOP): a link here was swapped in.
    if ((code === 'ENOTDIR' || code === 'ELOOP') && isLink(path)) outside(SWAPPED);
    return fsProblem(err);
  }
}

/** Opens the directory `segments` below the root, one component at a time, never following a link. */
export function openDirIn(root: ScopeRoot, segments: readonly string[], create: boolean): PinnedDir {
  let fd: number;
  try {
    fd = openSync(root.hostPath, C.O_RDONLY | C.O_DIRECTORY);
  } catch (err) {
    return fsProblem(err);
  }
  try {
    for (const seg of segments) {
      const next = openChildDir(fd, seg, create);
      closeSync(fd);
      fd = next;
    }
    verifyInside(fd, root);
    return new PinnedDir(fd, root);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The directory a resolved path names (fs.list, exec's cwd); `create` makes missing ones (0700). */
export function openScopedDir(r: ResolvedPath, opts: { create?: boolean } = {}): PinnedDir {
  raceHook?.(r);
  return openDirIn(r.root, r.realSegments, opts.create ?? false);
}

/**
 * The parent directory of a resolved path, pinned, and the last segment. The root has no parent.
 * A path ending in a slash must name a directory: checked here on the pinned entry, for every tool
 * that acts on a leaf (read, write, move, delete).
 */
export function openScopedParent(r: ResolvedPath, opts: { create?: boolean } = {}): { dir: PinnedDir; leaf: string } {
  const leaf = r.realSegments[r.realSegments.length - 1];
  if (leaf === undefined) throw new GatewayError('path_invalid', `this tool needs a path below ${r.root.label}, not its root`);
  raceHook?.(r);
  const dir = openDirIn(r.root, r.realSegments.slice(0, -1), opts.create ?? false);
  if (r.directory) {
    try {
      refuseNonDirectory(r, lstatOrNull(dir.at(leaf)));
    } catch (err) {
      dir.close();
      throw err;
    }
  }
  return { dir, leaf };
}

/**
 * The entry a resolved path names, as lstat sees it through its pinned parent, or null when it (or
 * its parent) does not exist. Never creates anything (the workspace quota asks before a write).
 */
export function statScoped(r: ResolvedPath): Stats | null {
  if (r.missingParents > 0 || r.realSegments.length === 0) return null;
  let pinned: { dir: PinnedDir; leaf: string };
  try {
    pinned = openScopedParent(r);
  } catch (err) {
    if ((err as { code?: string }).code === 'not_found') return null;
    throw err;
  }
  try {
    return lstatOrNull(pinned.dir.at(pinned.leaf));
  } finally {
    pinned.dir.close();
  }
}

/** Opens a regular file for reading: never through a link, never a FIFO, socket or device. */
export function openScopedFile(r: ResolvedPath): { fd: number; stat: Stats } {
  const { dir, leaf } = openScopedParent(r);
  try {
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO planted in the workspace must not hang the gateway on open.
      fd = openSync(dir.at(leaf), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (err) {
      return fsProblem(err);
    }
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) failed('is_a_directory', 'the path is a directory (use fs.list)');
      if (!stat.isFile()) failed('not_a_regular_file', 'the path is not a regular file');
      verifyInside(fd, r.root);
      return { fd, stat };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  } finally {
    dir.close();
  }
}

/** Entries of a directory, sorted by name, links reported as links (never followed). */
export function listScopedDir(r: ResolvedPath, max: number): { entries: Array<{ name: string; type: string; size: number | null }>; truncated: boolean } {
  const dir = openScopedDir(r);
  try {
    let names: string[];
    try {
      names = readdirSync(`${PROC_FD}/${dir.fd}`).sort();
    } catch (err) {
      return fsProblem(err);
    }
    const entries = names.slice(0, max).map((name) => {
      const st = lstatOrNull(dir.at(name));
      const type = st === null ? 'gone' : st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
      return { name, type, size: st?.isFile() ? st.size : null };
    });
    return { entries: entries.filter((e) => e.type !== 'gone'), truncated: names.length > max };
  } finally {
    dir.close();
  }
}
