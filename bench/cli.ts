/**
 * CLI start-up: wall time of `moat --version`, `moat --help` and `moat status` (against a running
 * gateway) next to `node -e 0` measured in the same run, alternating, medians of several runs.
 * Targets: --version under 0.2 s, status under 0.4 s (on an idle machine).
 */
import { spawnSync } from 'node:child_process';
import { MAIN, median, row, startMoat, tmp } from './lib.js';

function wallMs(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return ms;
}

export async function benchCli(_seconds: number, runs = 15): Promise<string[]> {
  const dataDir = tmp();
  const gateway = await startMoat(dataDir);
  try {
    const cases: Array<[string, string[]]> = [
      ['moat --version', [MAIN, '--version']],
      ['moat --help', [MAIN, '--help']],
      ['moat status', [MAIN, 'status', '--data-dir', dataDir]],
    ];
    const times = new Map<string, number[]>([['node -e 0', []], ...cases.map(([label]) => [label, []] as [string, number[]])]);
    wallMs(['-e', '0']); // warm the file cache
    for (let i = 0; i < runs; i++) {
      times.get('node -e 0')!.push(wallMs(['-e', '0']));
      for (const [label, args] of cases) times.get(label)!.push(wallMs(args));
    }
    const base = median(times.get('node -e 0')!);
    const out = [row('start-up (median wall ms; baseline node -e 0)', 'moat', 'node -e 0', 'ratio')];
    for (const [label] of cases) {
      const m = median(times.get(label)!);
      out.push(row(label, `${m.toFixed(0)} ms`, `${base.toFixed(0)} ms`, `${(m / base).toFixed(2)}x`));
    }
    return out;
  } finally {
    await gateway.stop();
  }
}
