/**
 * npm run bench: every figure next to a baseline measured in the same run (the machine is shared
 * and noisy: ratios matter, not absolute numbers). BENCH_SECONDS sets the length of each round;
 * BENCH_MOAT=<path to another build's main.js> runs the suites against that build (before/after).
 */
import { benchAudit } from './audit.js';
import { benchCli } from './cli.js';
import { benchConsole } from './console.js';
import { benchDoor } from './door.js';
import { benchIdle } from './idle.js';
import { benchJobs } from './jobs.js';
import { benchProxy } from './proxy.js';
import { PIN, WRK, row } from './lib.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const only = process.argv.slice(2);
const suites: Array<[string, (s: number) => Promise<string[]>]> = [
  ['door', benchDoor],
  ['proxy', benchProxy],
  ['audit', benchAudit],
  ['jobs', benchJobs],
  ['cli', benchCli],
  ['console', benchConsole],
  ['idle', benchIdle],
];

console.log(`load generator: ${WRK ? 'wrk' : 'autocannon (install wrk for steadier figures)'}; servers pinned to core 0, load to core 1: ${PIN}`);
console.log(row('benchmark', 'moat', 'baseline', 'ratio'));
for (const [name, fn] of suites) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n[${name}]`);
  for (const line of await fn(seconds)) console.log(line);
}
