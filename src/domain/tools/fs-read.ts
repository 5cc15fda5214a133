/** fs.list and fs.read: directory entries and size-capped byte ranges, through the path rule only. */
import { closeSync, readSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { GatewayError } from '../../errors.js';
import { resolveClientPath } from '../workspaces/scope.js';
import { listScopedDir, openScopedFile } from '../workspaces/scoped-fs.js';
import type { WorkspaceUsage } from '../workspaces/usage.js';
import type { ToolDefinition } from './types.js';

/** Entries fs.list returns at most; more sets `truncated`. */
export const MAX_LIST_ENTRIES = 10_000;

const ClientPath = Type.String({ description: "Relative to the run's workspace, or mount:<name>/..." });

export interface FsLimits {
  maxReadBytes: number;
  maxWriteBytes: number;
  /** The workspace quota's ledgers (kept across live changes; the quota itself is read at use time). */
  usage: WorkspaceUsage;
  /** Why file tools cannot run here, or null. */
  unavailable(): string | null;
}

const ListArgs = Type.Object({ path: ClientPath }, { additionalProperties: false });
interface ListArgs {
  path: string;
}

const ReadArgs = Type.Object(
  {
    path: ClientPath,
    offset: Type.Optional(Type.Integer({ minimum: 0, description: 'First byte (default 0).' })),
    length: Type.Optional(Type.Integer({ minimum: 0, description: 'Bytes to read (default: to the end); at most tools.maxReadBytes.' })),
  },
  { additionalProperties: false },
);
interface ReadArgs {
  path: string;
  offset?: number;
  length?: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text as is; anything else (or a range cutting a character) as base64. */
export function encodeContent(bytes: Buffer): { content: string; encoding: 'utf8' | 'base64' } {
  try {
    return { content: strictUtf8.decode(bytes), encoding: 'utf8' };
  } catch {
    return { content: bytes.toString('base64'), encoding: 'base64' };
  }
}

export function fsList(limits: FsLimits): ToolDefinition<ListArgs> {
  return {
    name: 'fs.list',
    risk: 'low',
    description: 'List a directory: {path} -> {entries: [{name, type, size}], truncated}. Links are listed, never followed.',
    args: ListArgs,
    unavailable: () => limits.unavailable(),
    run({ args, roots }) {
      const resolved = resolveClientPath(roots, args.path, 'read');
      const { entries, truncated } = listScopedDir(resolved, MAX_LIST_ENTRIES);
      return { path: resolved.relative, entries, truncated };
    },
  };
}

export function fsRead(limits: FsLimits): ToolDefinition<ReadArgs> {
  const max = limits.maxReadBytes;
  return {
    name: 'fs.read',
    risk: 'low',
    description: `Read a file or a byte range: {path, offset?, length?} -> {content, encoding, size}; at most ${max} bytes per call.`,
    args: ReadArgs,
    unavailable: () => limits.unavailable(),
    run({ args, roots }) {
      if (args.length !== undefined && args.length > max) {
        throw new GatewayError('file_too_large', `length is over tools.maxReadBytes (${max}); read in smaller ranges`, { extra: { maxReadBytes: max } });
      }
      const resolved = resolveClientPath(roots, args.path, 'read', { file: true });
      const { fd, stat } = openScopedFile(resolved);
      try {
        const size = stat.size;
        const offset = Math.min(args.offset ?? 0, size);
        const length = args.length ?? size - offset;
        // Said no, never clamped: a whole-file read of a big file is refused with its size.
        if (length > max) {
          throw new GatewayError('file_too_large', `the file is ${size} bytes, over tools.maxReadBytes (${max}); read it in ranges with offset and length`, {
            extra: { size, maxReadBytes: max },
          });
        }
        const buf = Buffer.alloc(Math.min(length, size - offset));
        let got = 0;
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, offset + got);
          if (n === 0) break;
          got += n;
        }
        return { path: resolved.relative, ...encodeContent(buf.subarray(0, got)), size, offset, length: got };
      } finally {
        closeSync(fd);
      }
    },
  };
}
