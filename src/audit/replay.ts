/**
 * Reads recent entries of chosen types back from the main log at boot, so that counts over the
 * last 24 h (authentication failures, lockouts) survive a restart. An aggregated entry counts its
 * `detail.count`. Skips files that end before `since` and lines that cannot be of those types
 * without parsing them. Reads files only; reading is not verifying.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chainOrder } from './chain.js';
import { forEachLine, readFirstLine } from './lines.js';

export interface Replayed {
  type: string;
  code: string | undefined;
  /** When it was written (ms). */
  at: number;
  /** Refusals it stands for (1 unless aggregated). */
  count: number;
}

function tsOf(line: string | undefined): number {
  if (line === undefined) return Number.NaN;
  try {
    return Date.parse((JSON.parse(line) as { ts?: string }).ts ?? '');
  } catch {
    return Number.NaN;
  }
}

export async function replayRecent(dir: string, since: number, types: readonly string[], on: (e: Replayed) => void): Promise<number> {
  const names = chainOrder(await readdir(dir).catch(() => [] as string[]));
  const wanted = new Set(types);
  const needles = types.map((t) => `"type":${JSON.stringify(t)}`);
  // A file whose successor starts before `since` holds nothing newer.
  const starts = await Promise.all(names.map((n) => readFirstLine(join(dir, n)).then(tsOf, () => Number.NaN)));
  let seen = 0;
  for (let i = 0; i < names.length; i++) {
    const next = starts[i + 1];
    if (next !== undefined && next < since) continue;
    await forEachLine(join(dir, names[i] as string), (text) => {
      if (!needles.some((n) => text.includes(n))) return;
      let e: { type?: unknown; ts?: unknown; code?: unknown; detail?: { count?: unknown } };
      try {
        e = JSON.parse(text);
      } catch {
        return;
      }
      const at = typeof e.ts === 'string' ? Date.parse(e.ts) : Number.NaN;
      if (typeof e.type !== 'string' || !wanted.has(e.type) || !(at >= since)) return;
      const n = e.detail?.count;
      const count = typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 1;
      seen += count;
      on({ type: e.type, code: typeof e.code === 'string' ? e.code : undefined, at, count });
    }).catch(() => undefined); // pruned meanwhile
  }
  return seen;
}
