/**
 * The `egress` config section: defaults, env names, schema refusals, CIDRs and host patterns
 * checked at construction (config_invalid naming the key), and live changes through config().
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { compileHosts, matchHost } from '../../src/egress/hosts.js';
import { Egress, compileEgressPolicy } from '../../src/egress/index.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observe/logger.js';
import { AuditRecorder, egressConfig, tableResolver } from '../helpers/egress.js';
import { tmpDir } from '../helpers/gateway.js';

describe('egress defaults', () => {
  it('deny by default: no exceptions, no host lists, any port, caps per purpose, at most 5 redirects', () => {
    const c = egressConfig();
    expect(c.allowFakeIp).toBe(false);
    expect(c.purposes.callback).toEqual({ allowHosts: [], denyHosts: [], allowCidrs: [], ports: [], maxBytes: 1_048_576, timeoutMs: 10_000, maxRedirects: 5 });
    expect(c.purposes.notify).toMatchObject({ maxBytes: 262_144, timeoutMs: 10_000 });
    expect(c.purposes.fetch).toMatchObject({ maxBytes: 10_485_760, timeoutMs: 30_000 });
    expect(c.purposes.forward).toMatchObject({ maxBytes: 1_048_576, timeoutMs: 15_000 });
  });

  it('reads exceptions and the fake-IP opt-in from the environment', () => {
    const { config } = loadConfig({
      env: { MOAT_EGRESS_CALLBACK_ALLOW_CIDRS: '10.0.0.0/8, 127.0.0.1', MOAT_EGRESS_ALLOW_FAKE_IP: '1', MOAT_EGRESS_FETCH_DENY_HOSTS: '*.corp' },
    });
    expect(config.egress.purposes.callback.allowCidrs).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(config.egress.purposes.fetch.denyHosts).toEqual(['*.corp']);
    expect(config.egress.allowFakeIp).toBe(true);
  });

  it.each([
    [{ purposes: { callback: { maxRedirects: 6 } } }, 'egress.purposes.callback.maxRedirects'],
    [{ purposes: { callback: { timeoutMs: 10 } } }, 'egress.purposes.callback.timeoutMs'],
    [{ purposes: { callback: { ports: [0] } } }, 'egress.purposes.callback.ports'],
    [{ purposes: { callback: { allowCidr: ['10.0.0.0/8'] } } }, 'did you mean egress.purposes.callback.allowCidrs?'],
    [{ purposes: { webhook: {} } }, 'unknown key egress.purposes.webhook'],
    [{ allowFakeIP: true }, 'did you mean egress.allowFakeIp?'],
  ])('refuses %j naming the key', (egress, message) => {
    expect(() => loadConfig({ values: { egress } })).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining(message) }));
  });
});

describe('CIDRs and host patterns are checked at construction', () => {
  it.each([
    [{ purposes: { callback: { allowCidrs: ['10.0.0.0/33'] } } }, 'egress.purposes.callback.allowCidrs: "10.0.0.0/33"'],
    [{ purposes: { notify: { allowCidrs: ['lan'] } } }, 'egress.purposes.notify.allowCidrs: "lan"'],
    [{ purposes: { fetch: { allowHosts: ['ex*ample.com'] } } }, 'egress.purposes.fetch.allowHosts: "ex*ample.com"'],
    [{ purposes: { forward: { denyHosts: ['http://evil.test/'] } } }, 'egress.purposes.forward.denyHosts'],
  ])('%j is config_invalid (%s)', (values, message) => {
    const config = egressConfig(values);
    expect(() => compileEgressPolicy(config)).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining(message) }));
    expect(() => new Egress({ config: () => config, audit: new AuditRecorder(), log: createLogger({ level: 'silent' }) })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });

  it('a gateway refuses to be created with a bad exception, before anything opens', () => {
    expect(() =>
      createGateway({ values: { port: 0, dataDir: tmpDir(), logLevel: 'silent', egress: { purposes: { callback: { allowCidrs: ['10.0.0.0/40'] } } } } }),
    ).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('egress.purposes.callback.allowCidrs') }));
  });

  it.each([
    '*',
    '*.',
    '**.example.com',
    '*.*.example.com',
    'ex*ample.com',
    'example.*',
    'example.com/path',
    'example.com:8080',
    'user@example.com',
    'http://example.com',
    '*.10.0.0.1',
    'a..b',
    'exa mple.com',
    '',
  ])('host pattern %j is refused', (pattern) => {
    expect(() => compileHosts([pattern], 'k')).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });

  it.each([
    ['example.com', 'example.com', true],
    ['EXAMPLE.com.', 'example.com', true],
    ['example.com', 'a.example.com', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['exämple.test', 'xn--exmple-cua.test', true],
    ['*.ÉXAMPLE.test', 'a.xn--xample-9ua.test', true],
    ['10.0.0.1', '10.0.0.1', true],
    ['0x0a000001', '10.0.0.1', true],
    ['[::1]', '::1', true],
    ['::1', '::1', true],
    ['[0:0::1]', '::1', true],
  ] as const)('pattern %j matches host %j: %s', (pattern, host, matches) => {
    expect(matchHost(compileHosts([pattern], 'k'), host) !== null).toBe(matches);
  });
});

describe('live changes through the config getter', () => {
  it('take effect on the next request, without rebuilding the guard', async () => {
    let config = egressConfig();
    const egress = new Egress({
      config: () => config,
      audit: new AuditRecorder(),
      log: createLogger({ level: 'silent' }),
      resolver: tableResolver({ 'lan.test': ['192.168.1.5'] }),
    });
    expect(await egress.check('http://lan.test/', 'callback')).toMatchObject({ allowed: false, reason: 'private' });
    config = egressConfig({ purposes: { callback: { allowCidrs: ['192.168.1.0/24'] } } });
    expect(await egress.check('http://lan.test/', 'callback')).toMatchObject({ allowed: true, rule: 'allowCidrs 192.168.1.0/24' });
    config = egressConfig();
    expect(await egress.check('http://lan.test/', 'callback')).toMatchObject({ allowed: false, reason: 'private' });
    await egress.stop();
  });

  it('reconfigure() refuses a bad change with config_invalid and keeps the policy it had', async () => {
    let config = egressConfig({ purposes: { callback: { allowCidrs: ['192.168.1.0/24'] } } });
    const egress = new Egress({ config: () => config, audit: new AuditRecorder(), log: createLogger({ level: 'silent' }), resolver: tableResolver({}) });
    const good = config;
    config = egressConfig({ purposes: { callback: { allowCidrs: ['192.168.1.0/99'] } } });
    expect(() => egress.reconfigure()).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    config = good;
    expect(await egress.check('http://192.168.1.7/', 'callback')).toMatchObject({ allowed: true });
    await egress.stop();
    await egress.stop(); // idempotent
  });
});
