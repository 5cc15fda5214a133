/**
 * The host guard alone, on the raw message it reads (rawHeaders, url): DNS rebinding and the
 * header shapes Node lets through. The end-to-end cases are in test/integration/host.guard.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { hostGuard, type HostGuardOptions, type HostRequest } from '../../src/security/host-guard.js';
import { outcome } from '../helpers/refusal.js';

const LOOPBACK: HostGuardOptions = {
  bindHost: '127.0.0.1',
  bindClass: 'loopback',
  port: 8443,
  tls: true,
  publicNames: ['moat.example.com', 'gw.example.net:9443'],
};
const host = (value: string, url = '/api/v1/status'): HostRequest => ({ rawHeaders: ['Host', value], url });

describe('host guard on a loopback bind', () => {
  const guard = hostGuard(LOOPBACK);
  it.each([
    ['127.0.0.1:8443'],
    ['localhost:8443'],
    ['LocalHost:8443'],
    ['[::1]:8443'],
    ['moat.example.com'],
    ['moat.example.com:1234'],
    ['gw.example.net:9443'],
  ])('lets Host %s through', (value) => expect(outcome(() => guard(host(value)))).toBe('ok'));

  it.each([
    ['evil.com'],
    ['localhost.evil.com:8443'],
    ['127.0.0.1:8443.evil.com'],
    ['127.0.0.1:8444'],
    ['127.0.0.1:08443'],
    ['127.0.0.1:99999'],
    ['127.0.0.1:'],
    ['user@127.0.0.1:8443'],
    ['moat.example.com.'],
    ['gw.example.net'],
    ['gw.example.net:443'],
    ['[::1'],
    ['[::1]x'],
    [''],
  ])('refuses Host %j with host_not_allowed', (value) => expect(outcome(() => guard(host(value)))).toBe('host_not_allowed'));

  it.each([
    ['no Host at all', { rawHeaders: ['Accept', '*/*'], url: '/' }],
    ['two Host lines (Node keeps the first)', { rawHeaders: ['Host', '127.0.0.1:8443', 'host', 'evil.com'], url: '/' }],
    ['two Host lines, both allowed', { rawHeaders: ['Host', '127.0.0.1:8443', 'HOST', '127.0.0.1:8443'], url: '/' }],
    [':authority and Host disagree', { rawHeaders: [':authority', '127.0.0.1:8443', 'host', 'evil.com'], url: '/' }],
    [':authority names another host', { rawHeaders: [':authority', 'evil.com'], url: '/' }],
    ['an absolute-form target naming another host', host('127.0.0.1:8443', 'http://evil.com/api/v1/status')],
    ['an absolute-form target with userinfo', host('127.0.0.1:8443', 'http://127.0.0.1:8443@evil.com/')],
    ['a target that is neither origin- nor absolute-form', host('127.0.0.1:8443', 'evil.com/')],
  ] as const)('refuses %s', (_what, req) => expect(outcome(() => guard(req))).toBe('host_not_allowed'));

  it.each([
    [':authority alone (HTTP/2)', { rawHeaders: [':authority', '127.0.0.1:8443'], url: '/' }],
    [':authority and Host agreeing', { rawHeaders: [':authority', 'localhost:8443', 'host', 'localhost:8443'], url: '/' }],
    ['an absolute-form target naming this gateway', host('127.0.0.1:8443', 'https://127.0.0.1:8443/api/v1/status')],
    ['the asterisk-form target (OPTIONS *)', host('127.0.0.1:8443', '*')],
  ] as const)('lets %s through', (_what, req) => expect(outcome(() => guard(req))).toBe('ok'));
});

describe('host guard on a specific address', () => {
  it('does not answer to loopback names (they are not a name of that address)', () => {
    const guard = hostGuard({ ...LOOPBACK, bindHost: '192.168.1.20', bindClass: 'specific', publicNames: [] });
    expect(outcome(() => guard(host('192.168.1.20:8443')))).toBe('ok');
    expect(outcome(() => guard(host('localhost:8443')))).toBe('host_not_allowed');
    expect(outcome(() => guard(host('127.0.0.1:8443')))).toBe('host_not_allowed');
  });
  it('answers to the bare name on the scheme default port', () => {
    const guard = hostGuard({ ...LOOPBACK, bindHost: 'moat.lan', bindClass: 'specific', port: 443, publicNames: [] });
    expect(outcome(() => guard(host('moat.lan')))).toBe('ok');
    expect(outcome(() => guard(host('moat.lan:443')))).toBe('ok');
  });
});

describe('host guard options', () => {
  it.each([
    ['http://moat.example.com'],
    ['moat example.com'],
    ['fe80::1%eth0'],
    ['moat.example.com:0'],
    ['moat.example.com:65536'],
    ['-moat.example.com'],
    [''],
  ])('refuses publicNames %j at boot with config_invalid', (name) =>
    expect(outcome(() => hostGuard({ ...LOOPBACK, publicNames: [name] }))).toBe('config_invalid'),
  );
  it('swaps the allowlist on reconfigure, and keeps the old one when the new one is refused', () => {
    const guard = hostGuard(LOOPBACK);
    guard.reconfigure({ ...LOOPBACK, publicNames: ['other.example.com'] });
    expect(outcome(() => guard(host('other.example.com')))).toBe('ok');
    expect(outcome(() => guard(host('moat.example.com')))).toBe('host_not_allowed');
    expect(outcome(() => guard.reconfigure({ ...LOOPBACK, publicNames: ['bad name'] }))).toBe('config_invalid');
    expect(outcome(() => guard(host('other.example.com')))).toBe('ok');
  });
});
