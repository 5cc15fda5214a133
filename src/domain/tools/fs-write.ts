/**
 * fs.write (atomic, size-capped), fs.move and fs.delete: changes through the path rule only, each
 * admitted by the workspace quota (usage.ts) before it touches the disk and counted once done.
 */
import { Type } from '@sinclair/typebox';
import { GatewayError } from '../../errors.js';
import { resolveClientPath, type ResolvedPath } from '../workspaces/scope.js';
import { statScoped } from '../workspaces/scoped-fs.js';
import { deleteScoped, moveScoped, writeScopedFile, type Freed } from '../workspaces/scoped-write.js';
import { BLOCK_BYTES, entryBytes, fileBytes, measureScoped } from '../workspaces/usage.js';
import type { FsLimits } from './fs-read.js';
import type { ToolDefinition } from './types.js';

const ClientPath = Type.String({ description: "Relative to the run's workspace, or mount:<name>/..." });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const WriteArgs = Type.Object(
  {
    path: ClientPath,
    content: Type.String(),
    encoding: Type.Optional(Type.Union([Type.Literal('utf8'), Type.Literal('base64')], { description: 'Of `content` (default utf8).' })),
  },
  { additionalProperties: false },
);
interface WriteArgs {
  path: string;
  content: string;
  encoding?: 'utf8' | 'base64';
}

const MoveArgs = Type.Object(
  { path: ClientPath, destination: ClientPath, overwrite: Type.Optional(Type.Boolean({ description: 'Replace an existing file (default false).' })) },
  { additionalProperties: false },
);
interface MoveArgs {
  path: string;
  destination: string;
  overwrite?: boolean;
}

const DeleteArgs = Type.Object(
  { path: ClientPath, recursive: Type.Optional(Type.Boolean({ description: 'Delete a directory and everything in it (default false).' })) },
  { additionalProperties: false },
);
interface DeleteArgs {
  path: string;
  recursive?: boolean;
}

function decode(args: WriteArgs): Buffer {
  if (args.encoding !== 'base64') return Buffer.from(args.content, 'utf8');
  if (!BASE64.test(args.content)) throw new GatewayError('validation_failed', 'args.content is not valid base64');
  return Buffer.from(args.content, 'base64');
}

/** The quota covers the run's workspace; writable mounts are the operator's directories, not counted. */
const inWorkspace = (r: ResolvedPath) => r.root.mount === undefined;

/**
 * What an existing entry that a change replaces frees (a directory is never replaced: the change
 * fails). Moving an entry onto itself, or onto another name of the same file (a hard link), is a
 * rename that does nothing (POSIX rename): it frees nothing, or a loop of such moves would count
 * the workspace down while it keeps every byte.
 */
function replaced(r: ResolvedPath, source?: ResolvedPath): number {
  const st = statScoped(r);
  if (st === null || st.isDirectory()) return 0;
  if (source) {
    const from = statScoped(source);
    if (from !== null && from.ino === st.ino && from.dev === st.dev) return 0;
  }
  return entryBytes(st);
}

export function fsWrite(limits: FsLimits): ToolDefinition<WriteArgs> {
  const max = limits.maxWriteBytes;
  return {
    name: 'fs.write',
    risk: 'medium',
    description: `Write a file atomically (temp file and rename), creating parent directories: {path, content, encoding?}; at most ${max} bytes.`,
    args: WriteArgs,
    writes: (args) => [args.path],
    unavailable: () => limits.unavailable(),
    async run({ args, roots }) {
      const data = decode(args);
      if (data.length > max)
        throw new GatewayError('file_too_large', `content is ${data.length} bytes, over tools.maxWriteBytes (${max})`, { extra: { maxWriteBytes: max } });
      await limits.usage.ready(roots.workspace);
      // From here on nothing awaits: resolve, admit, write and settle see one state of the workspace.
      const resolved = resolveClientPath(roots, args.path, 'write', { file: true });
      if (!inWorkspace(resolved)) {
        const { created } = writeScopedFile(resolved, data);
        return { path: resolved.relative, size: data.length, created };
      }
      // Disk filling: the new file and the parents it creates, less the file it replaces (a delta).
      const need = fileBytes(data.length) + resolved.missingParents * BLOCK_BYTES - replaced(resolved);
      const room = limits.usage.reserve(resolved.root, need, 'this write');
      try {
        const { created } = writeScopedFile(resolved, data);
        room.commit();
        return { path: resolved.relative, size: data.length, created };
      } finally {
        room.release(); // no-op once committed
      }
    },
  };
}

export function fsMove(limits: FsLimits): ToolDefinition<MoveArgs> {
  return {
    name: 'fs.move',
    risk: 'medium',
    description: 'Move or rename a file or directory: {path, destination, overwrite?}. A link is moved, not its target.',
    args: MoveArgs,
    writes: (args) => [args.path, args.destination],
    unavailable: () => limits.unavailable(),
    async run({ args, roots }) {
      const overwrite = args.overwrite ?? false;
      // A tree crossing between a mount and the workspace is measured first (a walk that awaits);
      // a change in the mounted tree meanwhile is the one thing the count can miss.
      let src = resolveClientPath(roots, args.path, 'write', { followLeaf: false });
      let dst = resolveClientPath(roots, args.destination, 'write', { followLeaf: false });
      const crossing = inWorkspace(src) !== inWorkspace(dst) ? await measureScoped(src) : 0;
      await limits.usage.ready(roots.workspace);
      // From here on nothing awaits: resolve, admit, move and settle see one state of the workspace.
      src = resolveClientPath(roots, args.path, 'write', { followLeaf: false });
      dst = resolveClientPath(roots, args.destination, 'write', { followLeaf: false });
      // Within the workspace a move grows it only by the parents it creates, less a file it replaces;
      // from a mount into the workspace it brings the whole entry in; out to a mount it frees it.
      let need = 0;
      if (inWorkspace(dst)) {
        need = dst.missingParents * BLOCK_BYTES - (overwrite ? replaced(dst, src) : 0);
        if (!inWorkspace(src)) need += crossing;
      }
      const leaving = inWorkspace(src) && !inWorkspace(dst) ? crossing : 0;
      const room = inWorkspace(dst) ? limits.usage.reserve(dst.root, need, 'this move') : null;
      try {
        moveScoped(src, dst, overwrite);
        room?.commit();
        if (leaving > 0) limits.usage.charge(src.root, -leaving);
      } finally {
        room?.release();
      }
      return { path: src.relative, destination: dst.relative };
    },
  };
}

export function fsDelete(limits: FsLimits): ToolDefinition<DeleteArgs> {
  return {
    name: 'fs.delete',
    risk: 'high',
    description: 'Delete a file, a link (never its target) or an empty directory; {recursive: true} deletes a tree.',
    args: DeleteArgs,
    writes: (args) => [args.path],
    unavailable: () => limits.unavailable(),
    async run({ args, roots }) {
      await limits.usage.ready(roots.workspace);
      const resolved = resolveClientPath(roots, args.path, 'write', { followLeaf: false });
      const freed: Freed = { bytes: 0 };
      try {
        const { removed } = deleteScoped(resolved, args.recursive ?? false, freed);
        return { path: resolved.relative, removed };
      } finally {
        // Counted even when a tree delete fails half-way: what is gone is gone.
        if (inWorkspace(resolved)) limits.usage.charge(resolved.root, -freed.bytes);
      }
    },
  };
}
