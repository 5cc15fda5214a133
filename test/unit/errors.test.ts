/** The one error table: every code documented with its status, every status an error status. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error table', () => {
  it.each(Object.entries(ERRORS))('documents %s in docs/errors.md with its status', (code, entry) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${entry.status} \\|`));
  });

  it('uses only error statuses and lowercase snake_case codes', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
    }
  });

  it('documents no code that the table does not have', () => {
    const documented = [...doc.matchAll(/^\| `([a-z_0-9]+)` \| \d{3} \|/gm)].map((m) => m[1]);
    expect(documented.filter((c) => !(c! in ERRORS))).toEqual([]);
  });
});
