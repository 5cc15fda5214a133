/** The tool policy as a function: high risk closed by default, allow opens, deny wins, names checked at construction. */
import { describe, expect, it } from 'vitest';
import { ToolPolicy } from '../../src/domain/tools/policy.js';
import { argsShape } from '../../src/domain/tools/registry.js';
import type { Risk } from '../../src/domain/tools/types.js';

const KNOWN = new Map<string, Risk>([
  ['fs.read', 'low'],
  ['fs.write', 'medium'],
  ['fs.delete', 'high'],
  ['exec', 'high'],
]);
const policy = (allow: string[] = [], deny: string[] = []) => new ToolPolicy({ allow, deny }, KNOWN);

describe('ToolPolicy', () => {
  it('opens low and medium risk tools and closes high-risk ones by default', () => {
    const p = policy();
    expect(p.decide('fs.read').allowed).toBe(true);
    expect(p.decide('fs.write').allowed).toBe(true);
    expect(p.decide('exec')).toEqual({ allowed: false, reason: expect.stringContaining('tools.allow') });
    expect(p.decide('fs.delete').allowed).toBe(false);
    expect(p.decideMountWrite().allowed).toBe(false);
    expect(p.openedHighRisk()).toEqual([]);
  });
  it('opens exactly the high-risk tools that tools.allow names', () => {
    const p = policy(['exec', 'mount.write']);
    expect(p.decide('exec').allowed).toBe(true);
    expect(p.decide('fs.delete').allowed).toBe(false);
    expect(p.decideMountWrite().allowed).toBe(true);
    expect(p.openedHighRisk()).toEqual(['exec', 'mount.write']);
  });
  it('lets tools.deny win over tools.allow, for any risk', () => {
    const p = policy(['exec', 'mount.write'], ['exec', 'fs.read', 'mount.write']);
    expect(p.decide('exec')).toEqual({ allowed: false, reason: 'exec is in tools.deny' });
    expect(p.decide('fs.read').allowed).toBe(false);
    expect(p.decideMountWrite().allowed).toBe(false);
    expect(p.openedHighRisk()).toEqual([]);
  });
  it('refuses unknown names with a hint (config_invalid)', () => {
    expect(() => policy(['exce'])).toThrow(/tools\.allow: unknown tool "exce", did you mean exec\?/);
    expect(() => policy([], ['fs.remove'])).toThrow(/tools\.deny: unknown tool "fs\.remove"/);
    expect(() => policy(['*'])).toThrow(/config|unknown tool/);
  });
});

describe('argsShape', () => {
  it('keeps types and lengths, never values', () => {
    const shape = argsShape({
      path: 'secret/plan.txt',
      content: 'top secret',
      argv: ['curl', '-H', 'Authorization: x'],
      offset: 3,
      recursive: true,
      headers: { a: '1' },
      none: null,
    });
    expect(shape).toEqual({
      path: 'string:15',
      content: 'string:10',
      argv: 'array:3',
      offset: 'number',
      recursive: 'boolean',
      headers: 'object:1',
      none: 'null',
    });
    expect(JSON.stringify(shape)).not.toMatch(/secret|curl|Authorization/);
  });
});
