/**
 * Opening what the path rule resolved without following a symbolic link swapped in after the check
 * (symlink race, TOCTOU): every component is opened relative to its parent's descriptor with
 * O_NOFOLLOW, through /proc/self/fd/<fd>/<name> (openat semantics on Linux), and each opened
 * descriptor's own path is checked against the root. Files are read, written, moved and deleted only
 * through these functions; nothing here joins a client string onto a path (scope.ts did that).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as C,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { GatewayError } from '../../errors.js';
import { isInside, type ResolvedPath, type ScopeRoot } from './scope.js';

const PROC_FD = '/proc/self/fd';
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Deepest directory tree fs.delete removes (each level holds a descriptor). */
const MAX_TREE_DEPTH = 128;

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
      failed('is_a_directory', 'the path is a directory');
    case 'ENOTDIR':
      failed('not_a_directory', 'a segment of the path is not a directory');
    case 'ENOTEMPTY':
      failed('not_empty', 'the directory is not empty');
    case 'EEXIST':
      failed('exists', 'the destination exists');
    case 'EXDEV':
      failed('cross_device', 'source and destination are on different file systems');
    case 'EINVAL':
      failed('into_itself', 'a directory cannot be moved into itself');
    case 'EACCES':
    case 'EPERM':
      failed('permission_denied', 'permission denied');
    case 'EROFS':
      throw new GatewayError('path_read_only', 'the file system is read-only');
    case 'ELOOP':
      outside(SWAPPED);
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

const at = (fd: number, name: string) => `${PROC_FD}/${fd}/${name}`;

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
function openChildDir(parentFd: number, name: string, create: boolean): number {
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
function openDirIn(root: ScopeRoot, segments: readonly string[], create: boolean): PinnedDir {
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

/** The parent directory of a resolved path, pinned, and the last segment. The root has no parent. */
export function openScopedParent(r: ResolvedPath, opts: { create?: boolean } = {}): { dir: PinnedDir; leaf: string } {
  const leaf = r.realSegments[r.realSegments.length - 1];
  if (leaf === undefined) throw new GatewayError('path_invalid', `this tool needs a path below ${r.root.label}, not its root`);
  raceHook?.(r);
  return { dir: openDirIn(r.root, r.realSegments.slice(0, -1), opts.create ?? false), leaf };
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

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

/**
 * Atomic write: a temp file beside the target (O_EXCL, O_NOFOLLOW), fsync, rename over the target,
 * fsync the directory. Readers see the old or the new content, never a part. Missing parent
 * directories are created (0700). An existing file keeps its mode; a new one is 0600.
 */
export function writeScopedFile(r: ResolvedPath, data: Buffer): { created: boolean } {
  const { dir, leaf } = openScopedParent(r, { create: true });
  try {
    const existing = lstatOrNull(dir.at(leaf));
    if (existing?.isDirectory()) failed('is_a_directory', 'the path is a directory');
    const mode = existing?.isFile() ? existing.mode & 0o777 : 0o600;
    const tmp = `.moat-${randomBytes(8).toString('hex')}.tmp`;
    let fd: number;
    try {
      fd = openSync(dir.at(tmp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    } catch (err) {
      return fsProblem(err);
    }
    try {
      writeAll(fd, data);
      fchmodSync(fd, mode);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(dir.at(tmp), dir.at(leaf));
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
      try {
        unlinkSync(dir.at(tmp));
      } catch {
        /* renamed or never created */
      }
      return fsProblem(err);
    }
    fsyncSync(dir.fd);
    return { created: existing === null };
  } finally {
    dir.close();
  }
}

/** Renames `src` to `dst` (the entries themselves: a link is moved, not its target). */
export function moveScoped(src: ResolvedPath, dst: ResolvedPath, overwrite: boolean): void {
  const s = openScopedParent(src);
  try {
    if (lstatOrNull(s.dir.at(s.leaf)) === null) throw new GatewayError('not_found', 'no such file or directory');
    const d = openScopedParent(dst, { create: true });
    try {
      const existing = lstatOrNull(d.dir.at(d.leaf));
      if (existing !== null && (!overwrite || existing.isDirectory())) {
        failed('exists', existing.isDirectory() ? 'the destination is a directory' : 'the destination exists (pass overwrite: true to replace it)');
      }
      try {
        renameSync(s.dir.at(s.leaf), d.dir.at(d.leaf));
      } catch (err) {
        fsProblem(err);
      }
      fsyncSync(d.dir.fd);
      fsyncSync(s.dir.fd);
    } finally {
      d.dir.close();
    }
  } finally {
    s.dir.close();
  }
}

/** Removes the tree `name` below `parentFd`: every level pinned and opened with O_NOFOLLOW. */
function removeTree(parentFd: number, name: string, depth: number): number {
  if (depth > MAX_TREE_DEPTH) failed('too_deep', `the directory tree is deeper than ${MAX_TREE_DEPTH} levels`);
  const fd = openChildDir(parentFd, name, false);
  let removed = 0;
  try {
    for (const entry of readdirSync(`${PROC_FD}/${fd}`)) {
      const st = lstatOrNull(at(fd, entry));
      if (st === null) continue;
      if (st.isDirectory()) removed += removeTree(fd, entry, depth + 1);
      else {
        unlinkSync(at(fd, entry));
        removed++;
      }
    }
  } catch (err) {
    if ((err as { name?: string }).name === 'GatewayError') throw err;
    fsProblem(err);
  } finally {
    closeSync(fd);
  }
  try {
    rmdirSync(at(parentFd, name));
  } catch (err) {
    fsProblem(err);
  }
  return removed + 1;
}

/** Deletes a file, a link (not its target), an empty directory, or with `recursive` a tree. */
export function deleteScoped(r: ResolvedPath, recursive: boolean): { removed: number } {
  const { dir, leaf } = openScopedParent(r);
  try {
    const st = lstatOrNull(dir.at(leaf));
    if (st === null) throw new GatewayError('not_found', 'no such file or directory');
    try {
      if (!st.isDirectory()) {
        unlinkSync(dir.at(leaf));
        return { removed: 1 };
      }
      if (recursive) return { removed: removeTree(dir.fd, leaf, 0) };
      rmdirSync(dir.at(leaf));
      return { removed: 1 };
    } catch (err) {
      if ((err as { name?: string }).name === 'GatewayError') throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY') failed('not_empty', 'the directory is not empty (pass recursive: true)');
      return fsProblem(err);
    }
  } finally {
    dir.close();
  }
}

/** Removes the directory `name` directly below a trusted root (a run's workspace), links never followed. */
export function removeTreeBelow(root: ScopeRoot, name: string): number {
  const dir = openDirIn(root, [], false);
  try {
    if (lstatOrNull(dir.at(name)) === null) return 0;
    return removeTree(dir.fd, name, 0);
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
