/**
 * Changes through what the path rule resolved: atomic writes, moves and (recursive) deletes, each
 * relative to a pinned directory descriptor with O_NOFOLLOW, so a symbolic link swapped in during
 * the call is replaced or unlinked, never followed (symlink race, TOCTOU).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as C, fchmodSync, fsyncSync, openSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { GatewayError } from '../../errors.js';
import type { ResolvedPath, ScopeRoot } from './scope.js';
import { PROC_FD, at, failed, fsProblem, lstatOrNull, openChildDir, openDirIn, openScopedParent } from './scoped-fs.js';
import { BLOCK_BYTES, entryBytes } from './usage.js';

/** What a delete freed so far, in the workspace quota's units (usage.ts), kept up to date as it goes. */
export interface Freed {
  bytes: number;
}

/** Deepest directory tree fs.delete removes (each level holds a descriptor). */
const MAX_TREE_DEPTH = 128;

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
  // Trailing slash: `a.txt/` names a directory; writing a file there must not replace a.txt.
  if (r.directory && r.realSegments.length > 0)
    throw new GatewayError('path_invalid', `${JSON.stringify(r.relative + '/')} ends in a slash, which names a directory; a file cannot be written there`);
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
    const moving = lstatOrNull(s.dir.at(s.leaf));
    if (moving === null) throw new GatewayError('not_found', 'no such file or directory');
    // Trailing slash on the destination: only a directory may end up at a path that names one.
    if (dst.directory && !moving.isDirectory()) {
      throw new GatewayError(
        'path_invalid',
        `${JSON.stringify(dst.relative + '/')} ends in a slash, which names a directory, and ${JSON.stringify(src.relative)} is not one`,
      );
    }
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
function removeTree(parentFd: number, name: string, depth: number, freed: Freed): number {
  if (depth > MAX_TREE_DEPTH) failed('too_deep', `the directory tree is deeper than ${MAX_TREE_DEPTH} levels`);
  const fd = openChildDir(parentFd, name, false);
  let removed = 0;
  try {
    for (const entry of readdirSync(`${PROC_FD}/${fd}`)) {
      const st = lstatOrNull(at(fd, entry));
      if (st === null) continue;
      if (st.isDirectory()) removed += removeTree(fd, entry, depth + 1, freed);
      else {
        unlinkSync(at(fd, entry));
        freed.bytes += entryBytes(st);
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
  freed.bytes += BLOCK_BYTES;
  return removed + 1;
}

/**
 * Deletes a file, a link (not its target), an empty directory, or with `recursive` a tree. `freed`
 * counts what is gone as it goes, so a tree delete that fails half-way still says what it freed.
 */
export function deleteScoped(r: ResolvedPath, recursive: boolean, freed: Freed = { bytes: 0 }): { removed: number } {
  const { dir, leaf } = openScopedParent(r);
  try {
    const st = lstatOrNull(dir.at(leaf));
    if (st === null) throw new GatewayError('not_found', 'no such file or directory');
    try {
      if (!st.isDirectory()) {
        unlinkSync(dir.at(leaf));
        freed.bytes += entryBytes(st);
        return { removed: 1 };
      }
      if (recursive) return { removed: removeTree(dir.fd, leaf, 0, freed) };
      rmdirSync(dir.at(leaf));
      freed.bytes += BLOCK_BYTES;
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
    return removeTree(dir.fd, name, 0, { bytes: 0 });
  } finally {
    dir.close();
  }
}
