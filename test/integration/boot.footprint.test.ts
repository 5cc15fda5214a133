/**
 * What `moat serve` loads at boot. The largest modules are loaded on first use (the first outbound
 * request, the first validated request, the first OpenAPI request); this keeps start-up time and
 * idle memory down, and a stray eager import would quietly undo it. Measured, not timed: the
 * figures themselves are in `npm run bench`.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnServe } from '../helpers/cli.js';

const PRELOAD = fileURLToPath(new URL('../fixtures/loaded-modules.cjs', import.meta.url));

async function modulesAfter(run: (url: string, dataDir: string) => Promise<void>): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-footprint-'));
  const out = join(dataDir, 'modules.txt');
  const serve = await spawnServe(['--data-dir', dataDir, '--port', '0'], { NODE_OPTIONS: `--require ${PRELOAD}`, LOADED_MODULES_OUT: out });
  try {
    await run(serve.url, dataDir);
  } finally {
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  }
  return readFileSync(out, 'utf8').split('\n');
}

const loaded = (modules: string[], pkg: string) => modules.some((m) => m.includes(`/node_modules/${pkg}/`));

describe('boot footprint', () => {
  it('boots and stops without undici, Ajv, @fastify/swagger or yaml', async () => {
    const modules = await modulesAfter(async () => undefined);
    expect(loaded(modules, 'fastify')).toBe(true); // the preload sees ESM-imported CommonJS packages
    for (const pkg of ['undici', 'ajv', '@fastify/ajv-compiler', '@fastify/swagger', 'yaml', 'prom-client']) {
      // The config validator is compiled at build time; it needs one small Ajv runtime helper only.
      const found = modules.filter((m) => m.includes(`/node_modules/${pkg}/`) && !m.endsWith('/ajv/dist/runtime/ucs2length.js'));
      expect(found, pkg).toEqual([]);
    }
  });

  it('loads them when they are first needed, and the answers are the same', async () => {
    const modules = await modulesAfter(async (url, dataDir) => {
      const token = readFileSync(join(dataDir, 'gateway-token'), 'utf8').trim();
      const auth = { authorization: `Bearer ${token}` };
      const doc = (await (await fetch(`${url}/api/v1/openapi.json`, { headers: auth })).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/api/v1/status');
      // A body that fails validation: Ajv loads with the first validated request.
      const bad = await fetch(`${url}/api/v1/tokens`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 7 }),
      });
      expect(bad.status).toBe(400);
    });
    expect(loaded(modules, '@fastify/swagger')).toBe(true);
    expect(loaded(modules, 'ajv')).toBe(true);
  });
});
