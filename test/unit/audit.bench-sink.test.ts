/**
 * Auditing cannot be turned off (invariant 5): the benchmark's replacement sink is a programmatic
 * option of createGateway only, unreachable from a config file, the environment or a flag.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KNOBS, loadConfig } from '../../src/config/load.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const NAME = 'unsafeAuditSinkForBenchmarks';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('the benchmark-only audit sink', () => {
  it('is named only by the options of createGateway in src/ (no CLI, config or route passes it)', () => {
    const naming = files(SRC)
      .filter((p) => readFileSync(p, 'utf8').includes(NAME))
      .map((p) => relative(SRC, p));
    expect(naming).toEqual(['gateway/plan.ts']);
  });

  it('is no config knob, env variable or flag', () => {
    for (const k of KNOBS) {
      expect(`${k.path} ${k.schema.env ?? ''} ${k.schema.flag ?? ''}`.toLowerCase()).not.toMatch(/sink|audit\.(enabled|off|disable)/);
    }
  });

  it('is refused as a key of a config file or options', () => {
    expect(() => loadConfig({ values: { [NAME]: {} } })).toThrow(/unknown key/);
    expect(() => loadConfig({ values: { audit: { enabled: false } } })).toThrow(/unknown key/);
  });
});
