/**
 * The structure of DESIGN.md, enforced: imports point one way (the ALLOWED table is the layer map),
 * only gateway.ts imports http/, only main.ts imports cli/, the client imports nothing of the server
 * but the import-free api/, no outbound call outside egress/ (and the client), no shell, no
 * Math.random.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The module (layer) a source file belongs to. */
function layer(rel: string): string {
  if (rel === 'main.ts') return 'main';
  if (rel === 'gateway.ts') return 'gateway';
  if (rel === 'errors.ts') return 'errors';
  return rel.split('/')[0] as string;
}

/**
 * What each layer may import (besides itself): the one statement of the layer map (DESIGN.md
 * "Layout"). Top to bottom; a layer imports only layers below it (checked below: no cycles).
 * `crypto` holds the pure primitives (tokens, HMAC, sealing, signed links, pairing codes, scopes,
 * the principal, JSON depth) below the guards, so that the domain never imports `security`.
 * `api` is the API's wire contract and the data dir's names, import-free, shared by the server,
 * the client and the CLI.
 */
const ALLOWED: Record<string, string[]> = {
  main: ['cli', 'errors'],
  cli: ['client', 'gateway', 'config', 'observe', 'api', 'errors'],
  client: ['api', 'errors'],
  gateway: ['http', 'security', 'routes', 'domain', 'egress', 'audit', 'store', 'crypto', 'observe', 'config', 'api', 'errors'],
  http: ['security', 'routes', 'audit', 'store', 'crypto', 'observe', 'config', 'api', 'errors'],
  routes: ['domain', 'security', 'crypto', 'observe', 'config', 'api', 'errors'],
  security: ['crypto', 'observe', 'config', 'api', 'errors'],
  domain: ['egress', 'audit', 'store', 'crypto', 'observe', 'config', 'api', 'errors'],
  egress: ['audit', 'crypto', 'observe', 'config', 'api', 'errors'],
  audit: ['crypto', 'observe', 'config', 'api', 'errors'],
  store: ['crypto', 'observe', 'config', 'api', 'errors'],
  observe: ['config', 'api', 'errors'],
  config: ['api', 'errors'],
  crypto: ['api', 'errors'],
  api: [],
  errors: [],
};

/** cli may use gateway.ts for `serve` and for offline work on the data dir only. */
const GATEWAY_IMPORTERS = ['cli/commands/serve.ts', 'cli/commands/audit.ts', 'cli/commands/doctor.ts'];

const sources = files(SRC).map((path) => ({ rel: relative(SRC, path), text: readFileSync(path, 'utf8') }));

function imports(file: { rel: string; text: string }): string[] {
  const specs = [...file.text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)].map((m) => m[1] as string);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(SRC, resolve(dirname(join(SRC, file.rel)), s)).replace(/\.js$/, '.ts'));
}

describe('import directions', () => {
  it.each(sources.map((f) => [f.rel, f] as const))('%s imports only what its layer may', (_rel, file) => {
    const from = layer(file.rel);
    const bad = imports(file).filter((target) => {
      const to = layer(target);
      if (to === from) return false;
      if (to === 'gateway' && from === 'cli') return !GATEWAY_IMPORTERS.includes(file.rel);
      return !(ALLOWED[from] ?? []).includes(to);
    });
    expect(bad, `${file.rel} (${from}) imports ${bad.join(', ')}`).toEqual([]);
  });
});

describe('the layer map', () => {
  it('names every folder of src/ as a layer', () => {
    const layers = new Set(sources.map((f) => layer(f.rel)));
    expect([...layers].filter((l) => !(l in ALLOWED)).sort()).toEqual([]);
  });
  it('has no cycle: every layer imports only layers below it', () => {
    const seen = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (l: string, path: string[]) => {
      if (seen.get(l) === 'done') return;
      if (seen.get(l) === 'open') return void cycles.push([...path, l].join(' -> '));
      seen.set(l, 'open');
      for (const to of ALLOWED[l] ?? []) if (!(to === 'gateway' && l === 'cli')) visit(to, [...path, l]);
      seen.set(l, 'done');
    };
    for (const l of Object.keys(ALLOWED)) visit(l, []);
    expect(cycles).toEqual([]);
  });
  it('keeps the domain, the store and the record off the request guards', () => {
    for (const l of ['domain', 'store', 'audit', 'egress', 'crypto']) expect(ALLOWED[l]).not.toContain('security');
  });
});

describe('house rules a grep can see', () => {
  const code = (f: { text: string }) => f.text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  it('no outbound HTTP outside src/egress and src/client', () => {
    const hits = sources.filter(
      (f) =>
        !/^(egress|client)\//.test(f.rel) && /\bfetch\(|https?\.request\(|https?\.get\(|from 'undici'|'undici'\)|net\.connect\(|tls\.connect\(/.test(code(f)),
    );
    expect(hits.map((f) => f.rel)).toEqual([]);
  });
  it('no shell, exec or eval', () => {
    const shell = /shell:\s*true|\bexecSync\(|import\s*\{[^}]*\bexec\b[^}]*\}\s*from\s*'node:child_process'|(?<![.\w])eval\(|new Function\(/;
    const hits = sources.filter((f) => shell.test(code(f)));
    expect(hits.map((f) => f.rel)).toEqual([]);
  });
  it('no Math.random (secrets and ids come from node:crypto)', () => {
    expect(sources.filter((f) => /Math\.random/.test(code(f))).map((f) => f.rel)).toEqual([]);
  });
  it('no console output outside the CLI (the logger redacts secrets)', () => {
    expect(sources.filter((f) => !f.rel.startsWith('cli/') && /\bconsole\.(log|error|warn|info)\(/.test(code(f))).map((f) => f.rel)).toEqual([]);
  });
  it('one Actor type (src/api/actor.ts): no file declares another or spells it out', () => {
    const again = /\binterface Actor\b|type Actor\s*=|\{ (readonly )?id: string; (readonly )?name: string \}/;
    expect(sources.filter((f) => f.rel !== 'api/actor.ts' && again.test(code(f))).map((f) => f.rel)).toEqual([]);
  });
  it('src/api/ is import-free: TypeBox and node:path only, besides itself', () => {
    const external = (f: { text: string }) => [...f.text.matchAll(/from\s+'([^'.][^']*)'/g)].map((m) => m[1] as string);
    const bad = sources
      .filter((f) => f.rel.startsWith('api/'))
      .flatMap((f) =>
        external(f)
          .filter((s) => s !== '@sinclair/typebox' && s !== 'node:path')
          .map((s) => `${f.rel}: ${s}`),
      );
    expect(bad).toEqual([]);
  });
  it("routes answer with the API's schemas (src/api/), not shapes of their own (text answers aside)", () => {
    const inline = /response:\s*\{[^}]*\bType\.(?!String\(\))/;
    expect(sources.filter((f) => f.rel.startsWith('routes/') && inline.test(code(f))).map((f) => f.rel)).toEqual([]);
  });
  it("the CLI and the client type responses with the API's types, never an inline shape", () => {
    const inline = /\.(get|post|delete|request)<\s*\{/;
    expect(sources.filter((f) => /^(cli|client)\//.test(f.rel) && inline.test(code(f))).map((f) => f.rel)).toEqual([]);
  });
  it('every file opens with a comment saying what it owns', () => {
    const bad = sources.filter((f) => !/^(#![^\n]*\n)?\/\*\*/.test(f.text));
    expect(bad.map((f) => f.rel)).toEqual([]);
  });
});
