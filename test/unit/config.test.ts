/** The config loader: precedence, strictness, hints, env and flag parsing. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOBS, loadConfig } from '../../src/config/load.js';
import { LIVE_KEYS } from '../../src/config/live.js';
import { bootPosture, classifyBind } from '../../src/config/bind.js';

function file(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-cfg-'));
  const path = join(dir, 'moat.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as { code: string; detail: string };
  }
  throw new Error('expected a refusal');
};

describe('precedence: defaults < file < env < flags', () => {
  it('takes each layer over the one before, and records the source of each value', () => {
    const f = file({ port: 1001, logLevel: 'warn', rateLimit: { pair: { perMinute: 3 } } });
    const { config, sources } = loadConfig({ file: f, env: { MOAT_PORT: '1002', MOAT_RATE_LIMIT_GENERAL: '50' }, flags: { port: '1003' } });
    expect(config.port).toBe(1003);
    expect(config.logLevel).toBe('warn');
    expect(config.rateLimit.pair.perMinute).toBe(3);
    expect(config.rateLimit.general.perMinute).toBe(50);
    expect(config.rateLimit.jobs.perMinute).toBe(120);
    expect(sources.get('port')).toBe('flag');
    expect(sources.get('logLevel')).toBe('file');
    expect(sources.get('rateLimit.general.perMinute')).toBe('env');
    expect(sources.get('rateLimit.jobs.perMinute')).toBe('default');
  });

  it('replaces lists rather than merging them', () => {
    const f = file({ publicNames: ['a.example'] });
    expect(loadConfig({ file: f, env: { MOAT_PUBLIC_NAMES: 'b.example, c.example' } }).config.publicNames).toEqual(['b.example', 'c.example']);
    expect(loadConfig({ file: f, flags: { 'public-name': ['d.example'] } }).config.publicNames).toEqual(['d.example']);
  });

  it('parses booleans from env and flags', () => {
    expect(loadConfig({ env: { MOAT_TLS: '1' } }).config.tls.enabled).toBe(true);
    expect(loadConfig({ env: { MOAT_TLS: '0' } }).config.tls.enabled).toBe(false);
    expect(loadConfig({ env: { MOAT_EXPOSE: 'true' } }).config.expose).toBe(true);
    expect(loadConfig({ flags: { auth: false } }).config.auth.enabled).toBe(false);
  });

  it('freezes the result', () => {
    const { config } = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rateLimit.pair)).toBe(true);
  });

  it('expands ~ in the data dir', () => {
    expect(loadConfig({ values: { dataDir: '~/x' } }).config.dataDir).toMatch(/^\/.*\/x$/);
  });
});

describe('strictness', () => {
  it.each([
    [{ prot: 1 }, /unknown key prot, did you mean port\?/],
    [{ rateLimit: { pair: { perMin: 3 } } }, /unknown key rateLimit\.pair\.perMin, did you mean rateLimit\.pair\.perMinute\?/],
    [{ tls: { enabld: true } }, /unknown key tls\.enabld, did you mean tls\.enabled\?/],
    [{ completelyUnrelated: 1 }, /unknown key completelyUnrelated$/],
    [{ port: '7878' }, /port must be integer/],
    [{ port: 70000 }, /port must be <= 65535/],
    [{ rateLimit: { pair: { perMinute: 0 } } }, /rateLimit\.pair\.perMinute must be >= 1/],
    [{ publicNames: 'a.example' }, /publicNames must be array/],
    [{ logLevel: 'verbose' }, /logLevel/],
  ])('refuses %j naming the key', (content, message) => {
    const err = refusal(() => loadConfig({ file: file(content) }));
    expect(err.code).toBe('config_invalid');
    expect(err.detail).toMatch(/^config file .*moat\.json: /);
    expect(err.detail).toMatch(message);
  });

  it('refuses a file that is not JSON, or not an object', () => {
    expect(refusal(() => loadConfig({ file: file('{ port: 1 }') })).detail).toMatch(/not valid JSON/);
    expect(refusal(() => loadConfig({ file: file('[1]') })).detail).toMatch(/must hold a JSON object/);
    expect(refusal(() => loadConfig({ file: '/nonexistent/moat.json' })).detail).toMatch(/cannot read config file/);
  });

  it('names the environment variable of a bad value', () => {
    expect(refusal(() => loadConfig({ env: { MOAT_PORT: 'eighty' } })).detail).toMatch(/MOAT_PORT=eighty: port must be an integer/);
    expect(refusal(() => loadConfig({ env: { MOAT_TLS: 'maybe' } })).detail).toMatch(/MOAT_TLS=maybe/);
  });

  it('never echoes a secret value in a refusal', () => {
    const err = refusal(() => loadConfig({ env: { MOAT_ADMIN_TOKEN: 'tooshort' } }));
    expect(err.detail).not.toContain('tooshort');
  });

  it('warns about an unknown MOAT_ variable with a hint', () => {
    expect(loadConfig({ env: { MOAT_RATE_LIMIT_PARI: '3' } }).warnings[0]).toMatch(/MOAT_RATE_LIMIT_PARI, did you mean MOAT_RATE_LIMIT_PAIR\?/);
  });
});

describe('bind classification and the boot matrix', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['localhost', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'all'],
    ['::', 'all'],
    ['192.168.1.10', 'specific'],
    ['100.101.102.103', 'specific'],
    ['fd7a:115c:a1e0::1', 'specific'],
  ])('classifies %s as %s', (host, cls) => {
    expect(classifyBind(host)).toBe(cls);
  });

  it.each([['example.com'], ['127.1'], ['0x7f000001'], ['']])('refuses the bind address %j', (host) => {
    expect(() => classifyBind(host)).toThrow();
  });

  it('forces TLS and auth on a specific address', () => {
    expect(bootPosture(loadConfig({ values: { host: '192.168.1.10' } }).config)).toMatchObject({ tls: true, auth: true, bindClass: 'specific' });
  });
});

describe('live knobs', () => {
  it('documents a knob as live exactly when PATCH /api/v1/config may change its top-level key', () => {
    const live = new Set<string>(LIVE_KEYS);
    const wrong = KNOBS.filter((k) => live.has(k.segments[0] as string) !== Boolean(k.schema.live)).map((k) => k.path);
    expect(wrong).toEqual([]);
  });
});
