/** Service definitions: the loopback rule for targets (a table of hostile ones), per-kind rules, backoff, PATCH merging. */
import { describe, expect, it } from 'vitest';
import { backoffDelay, checkService, isLoopbackHost, mergePatch, toSpec, type ServiceSpec } from '../../src/domain/services/spec.js';

const url = (baseUrl: string, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({ name: 'svc', kind: 'url', baseUrl, ...extra });

describe('targets', () => {
  it.each([
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
    ['http://127.4.5.6:8000/', 'http://127.4.5.6:8000'],
    ['http://localhost:11434/v1/', 'http://localhost:11434/v1'],
    ['http://[::1]:8000', 'http://[::1]:8000'],
    ['http://[::ffff:127.0.0.1]:8000', 'http://[::ffff:7f00:1]:8000'],
    ['http://2130706433:8000', 'http://127.0.0.1:8000'],
    ['http://0x7f.1:8000', 'http://127.0.0.1:8000'],
    ['https://127.0.0.1', 'https://127.0.0.1'],
  ])('accepts loopback %s as %s', (input, normalised) => {
    expect(checkService(url(input), 'api').baseUrl).toBe(normalised);
  });

  it.each([
    ['a LAN address', 'http://192.168.1.20:8000'],
    ['the metadata service', 'http://169.254.169.254/'],
    ['all interfaces', 'http://0.0.0.0:8000'],
    ['IPv6 any', 'http://[::]:8000'],
    ['a public name', 'http://example.com'],
    ['a name that merely starts with localhost', 'http://localhost.evil.com'],
    ['a mapped LAN address', 'http://[::ffff:10.0.0.1]/'],
    ['userinfo', 'http://admin:secret@127.0.0.1'],
    ['a query', 'http://127.0.0.1/?a=1'],
    ['ftp', 'ftp://127.0.0.1'],
    ['not a URL', 'not a url at all'],
  ])('refuses %s (API: service_target_refused; config: config_invalid)', (_label, input) => {
    expect(() => checkService(url(input), 'api')).toThrow(expect.objectContaining({ code: 'service_target_refused' }));
    expect(() => checkService(url(input), 'config')).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });

  it('lets the config file widen one service with allowNonLoopback, never the API', () => {
    expect(checkService(url('http://192.168.1.20:8000', { allowNonLoopback: true }), 'config').allowNonLoopback).toBe(true);
    expect(() => checkService(url('http://192.168.1.20:8000', { allowNonLoopback: true }), 'api')).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
  });

  it('still refuses credentials and other schemes with allowNonLoopback', () => {
    expect(() => checkService(url('http://u:p@10.0.0.1', { allowNonLoopback: true }), 'config')).toThrow(/credentials/);
    expect(() => checkService(url('file:///etc/passwd', { allowNonLoopback: true }), 'config')).toThrow(/http or https/);
  });

  it('knows loopback spellings', () => {
    expect(['localhost', '127.0.0.1', '[::1]', '127.255.255.254'].every(isLoopbackHost)).toBe(true);
    expect(['localhost.', '128.0.0.1', '[::2]', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});

describe('kinds and defaults', () => {
  it('fills defaults (no health path: GET / answering below 500 is healthy)', () => {
    const d = checkService(url('http://127.0.0.1:1'), 'api');
    expect(d).toMatchObject({
      kind: 'url',
      command: null,
      upstreamHeaders: {},
      health: { path: null, intervalMs: 5000, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 3 },
      restart: { policy: 'on-failure', initialDelayMs: 500, maxDelayMs: 30_000, maxAttempts: 5, resetAfterMs: 60_000 },
      concurrency: 1,
      idleStopAfterMs: 0,
      tags: [],
      autoStart: true,
      allowNonLoopback: false,
    });
  });

  it.each([
    ['a command service without a command', { kind: 'command' as const }, /needs `command`/],
    ['a url service with a command', { kind: 'url' as const, command: ['x'] }, /has no `command`/],
    ['a url service with env', { kind: 'url' as const, env: { A: '1' } }, /command services only/],
    ['an upper-case name', { name: 'Worker' }, /name/],
    ['a backoff that starts above its cap', { restart: { initialDelayMs: 10, maxDelayMs: 5 } }, /initialDelayMs/],
  ])('refuses %s', (_label, extra, message) => {
    expect(() => checkService(url('http://127.0.0.1:1', extra as Partial<ServiceSpec>), 'api')).toThrow(message);
  });

  it('round-trips through toSpec', () => {
    const d = checkService(
      { name: 'w', kind: 'command', command: ['node', 'w.js'], env: { K: 'v' }, cwd: '/tmp', baseUrl: 'http://127.0.0.1:8188', tags: ['gpu'] },
      'config',
    );
    expect(checkService(toSpec(d), 'config')).toEqual(d);
  });
});

describe('backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    const r = { policy: 'always' as const, initialDelayMs: 500, maxDelayMs: 30_000, maxAttempts: 10, resetAfterMs: 1 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(r, n))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(backoffDelay(r, 1000)).toBe(30_000);
  });
});

describe('PATCH', () => {
  it('replaces top-level keys and merges health, restart and env key by key', () => {
    const base: ServiceSpec = {
      name: 'w',
      kind: 'command',
      command: ['a'],
      env: { A: '1', B: '2' },
      baseUrl: 'http://127.0.0.1:1',
      health: { path: '/h', intervalMs: 100 },
      tags: ['x'],
    };
    const merged = mergePatch(base, { env: { B: '3' }, health: { intervalMs: 200 }, tags: ['y'], command: ['b', 'c'] });
    expect(merged).toMatchObject({ env: { A: '1', B: '3' }, health: { path: '/h', intervalMs: 200 }, tags: ['y'], command: ['b', 'c'] });
  });
});
