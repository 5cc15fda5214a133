/** Process facts for exec tests: whether a pid still runs (a zombie does not), and pids by a command-line marker. */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Running: process.kill(pid, 0) succeeds and /proc does not show it as a zombie (Z) waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Pids of running processes whose command line contains `marker`. */
export function pidsWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker) && isRunning(Number(name))) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/**
 * Waits until `check` holds, polling; gives up after `limitMs` (a signal needs a moment to be
 * delivered and the process to be scheduled and die). Returns whether it held.
 */
export async function eventually(check: () => boolean, limitMs = 5000): Promise<boolean> {
  for (let waited = 0; waited <= limitMs; waited += 20) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}
