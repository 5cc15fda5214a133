/**
 * The files under the audit directory as the writer sees them: the current file it appends to
 * (never leaving a partial line after a failed write), its rotation (never overwriting a file of
 * the chain) and the pruning of old rotated files. Knows nothing of entries or the chain.
 */
import { chmod, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_CURRENT } from '../api/data-dir.js';

export class CurrentFile {
  private fd: FileHandle | null = null;
  /** Bytes of the current file written by us (a failed write is cut back to this). */
  private size = 0;

  constructor(private readonly dir: string) {}

  /** Opens audit.jsonl for appending; `size` is its length after recovery. */
  async open(size: number): Promise<void> {
    const path = join(this.dir, AUDIT_CURRENT);
    this.fd = await open(path, 'a', 0o600);
    await chmod(path, 0o600);
    this.size = size;
  }

  /** Appends all of `buf`; on failure cuts the file back so that no partial line is left. */
  async append(buf: Buffer): Promise<void> {
    const fd = this.fd;
    if (!fd) throw new Error('audit file is not open');
    try {
      for (let off = 0; off < buf.length; ) off += (await fd.write(buf, off, buf.length - off)).bytesWritten;
      this.size += buf.length;
    } catch (err) {
      const size = await fd.stat().then(
        (s) => s.size,
        () => -1,
      );
      if (size > this.size) await fd.truncate(this.size).catch(() => undefined);
      throw err;
    }
  }

  /** Renames the current file to `closeAs` (read-only) and opens a new one. Safe to retry. */
  async rotate(closeAs: string): Promise<void> {
    await this.close();
    const current = join(this.dir, AUDIT_CURRENT);
    const target = join(this.dir, closeAs);
    if (await exists(current)) {
      // Never overwrite a file of the chain: refuse (the writer retries, loudly) instead.
      if (await exists(target)) throw new Error(`audit rotation target ${closeAs} exists already`);
      await rename(current, target);
    }
    await chmod(target, 0o400).catch(() => undefined);
    await this.open(0);
  }

  /** Deletes rotated files; a missing one is no error. Returns the names that could not be deleted. */
  async prune(names: readonly string[]): Promise<Array<{ name: string; err: unknown }>> {
    const failed: Array<{ name: string; err: unknown }> = [];
    for (const name of names) {
      await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') failed.push({ name, err });
      });
    }
    return failed;
  }

  /** Forces what was appended to the disk (no-op when closed). */
  async sync(): Promise<void> {
    await this.fd?.sync().catch(() => undefined);
  }

  /** Syncs and closes (idempotent). */
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    if (!fd) return;
    await fd.sync().catch(() => undefined);
    await fd.close().catch(() => undefined);
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
