/** Generated reference docs must match the code: run `npm run docs` after changing config or routes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS, renderConfigSchema, renderConfigurationMd, renderOpenApi } from '../../scripts/docs.js';
import { KNOBS } from '../../src/config/load.js';

const read = (f: string) => readFileSync(join(DOCS, f), 'utf8');

describe('generated docs are current (npm run docs)', () => {
  it('docs/configuration.md matches the config schema', () => {
    expect(read('configuration.md')).toBe(renderConfigurationMd());
  });
  it('docs/config.schema.json matches the config schema', () => {
    expect(read('config.schema.json')).toBe(renderConfigSchema());
  });
  it('docs/openapi.json matches the routes', async () => {
    expect(read('openapi.json')).toBe(await renderOpenApi());
  });
});

describe('every knob is documented', () => {
  it.each(KNOBS.filter((k) => k.path !== '$schema').map((k) => [k.path, k] as const))('%s has a description', (_path, k) => {
    expect(typeof k.schema.description).toBe('string');
    expect((k.schema.description as string).length).toBeGreaterThan(10);
  });
});
