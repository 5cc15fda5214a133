/**
 * No orphan survives moat: every child is recorded in <dataDir>/run/services.json with a random
 * instance marker that is also in its environment. At the next boot (after moat was SIGKILLed,
 * say) the processes still carrying a recorded marker are found in /proc and stopped. A pid that
 * the kernel has since given to another program does not carry the marker, so it is never killed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../observe/logger.js';
import { ensureDir, readIfExists, writeFileAtomic } from '../../store/files.js';
import { INSTANCE_ENV } from './process-runner.js';

export interface RunEntry {
  name: string;
  pid: number;
  marker: string;
  startedAt: number;
}

export const RUN_FILE = 'services.json';

/** The record of running children, rewritten atomically on every spawn and exit. */
export class RunFile {
  private entries = new Map<string, RunEntry>();

  constructor(private readonly dir: string) {}

  /** What the previous run left behind (a clean shutdown leaves nothing). */
  read(): RunEntry[] {
    const text = readIfExists(join(this.dir, RUN_FILE));
    if (text === undefined) return [];
    try {
      const parsed = JSON.parse(text) as { children?: unknown };
      if (!Array.isArray(parsed.children)) return [];
      return parsed.children.filter(
        (e): e is RunEntry =>
          typeof e === 'object' &&
          e !== null &&
          typeof (e as RunEntry).pid === 'number' &&
          typeof (e as RunEntry).marker === 'string' &&
          /^[0-9a-f]{24}$/.test((e as RunEntry).marker),
      );
    } catch {
      return [];
    }
  }

  record(entry: RunEntry): void {
    this.entries.set(entry.marker, entry);
    this.write();
  }

  forget(marker: string): void {
    if (this.entries.delete(marker)) this.write();
  }

  /** Starts a fresh record (after the sweep). */
  reset(): void {
    this.entries.clear();
    this.write();
  }

  private write(): void {
    ensureDir(this.dir);
    writeFileAtomic(join(this.dir, RUN_FILE), `${JSON.stringify({ children: [...this.entries.values()] }, null, 2)}\n`, 0o600);
  }
}

/** Live (non-zombie) processes whose environment carries one of `markers`, by marker. */
export function findMarked(markers: ReadonlySet<string>, procDir = '/proc'): Array<{ pid: number; marker: string }> {
  if (markers.size === 0) return [];
  let pids: string[];
  try {
    pids = readdirSync(procDir).filter((n) => /^[0-9]+$/.test(n));
  } catch {
    return [];
  }
  const prefix = `${INSTANCE_ENV}=`;
  const out: Array<{ pid: number; marker: string }> = [];
  for (const p of pids) {
    let environ: string;
    try {
      environ = readFileSync(join(procDir, p, 'environ'), 'latin1');
    } catch {
      continue; // gone, or another user's process
    }
    const at = environ.indexOf(prefix);
    if (at < 0) continue;
    const end = environ.indexOf('\0', at);
    const marker = environ.slice(at + prefix.length, end < 0 ? undefined : end);
    if (markers.has(marker) && !isZombie(Number(p), procDir)) out.push({ pid: Number(p), marker });
  }
  return out;
}

/** Whether `pid` is alive: exists and is not a zombie waiting for its parent. */
export function isAlive(pid: number, procDir = '/proc'): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid, procDir);
}

function isZombie(pid: number, procDir: string): boolean {
  try {
    const stat = readFileSync(join(procDir, String(pid), 'stat'), 'latin1');
    // Field 3, after the parenthesised command name (which may itself contain spaces or parens).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

export interface SweepOptions {
  graceMs: number;
  log: Logger;
  procDir?: string;
}

/** Stops the leftovers of `entries`: SIGTERM, then SIGKILL after the grace period. Returns what it found. */
export async function sweepOrphans(entries: readonly RunEntry[], opts: SweepOptions): Promise<Array<{ pid: number; name: string }>> {
  const byMarker = new Map(entries.map((e) => [e.marker, e]));
  const found = findMarked(new Set(byMarker.keys()), opts.procDir);
  if (found.length === 0) return [];
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const f of found) {
    opts.log.warn({ service: byMarker.get(f.marker)?.name, pid: f.pid }, 'stopping a service process left over from a previous run');
    signal(f.pid, 'SIGTERM');
  }
  const deadline = Date.now() + opts.graceMs;
  while (found.some((f) => isAlive(f.pid, opts.procDir)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const f of found) if (isAlive(f.pid, opts.procDir)) signal(f.pid, 'SIGKILL');
  return found.map((f) => ({ pid: f.pid, name: byMarker.get(f.marker)?.name ?? '?' }));
}
