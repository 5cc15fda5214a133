/**
 * `moat egress check <url> [--purpose ...] [--json]` against a real gateway: exit status 0 when
 * allowed, 1 when denied with the reason printed, 2 for a purpose that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tableResolver } from '../helpers/egress.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let t: TestGateway;
beforeAll(async () => {
  t = await startGateway(
    { egress: { purposes: { callback: { allowCidrs: ['10.0.0.0/8'] } } } },
    { egressResolver: tableResolver({ 'hooks.example.test': ['203.0.113.7'], 'lan.test': ['10.1.2.3'], 'api.example.test': ['93.184.215.14'] }) },
  );
});
afterAll(() => t.stop());

const moat = (...args: string[]) => runCli(['egress', 'check', ...args, '--data-dir', t.dataDir]);

describe('moat egress check', () => {
  it('exits 1 and says why for a denied URL', async () => {
    const r = await moat('http://hooks.example.test/cb', '--purpose', 'callback');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(['denied: documentation', 'purpose    callback', 'rule       203.0.113.0/24', 'addresses  203.0.113.7', ''].join('\n'));
  });

  it('exits 0 for an allowed URL, naming the exception that allowed it', async () => {
    const r = await moat('http://lan.test/', '--purpose', 'callback');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('allowed: allowed_by_exception');
    expect(r.stdout).toContain('rule       allowCidrs 10.0.0.0/8');
  });

  it('uses the callback policy by default and another purpose when asked', async () => {
    expect((await moat('http://lan.test/')).code).toBe(0);
    const fetch = await moat('http://lan.test/', '--purpose', 'fetch');
    expect(fetch.code).toBe(1);
    expect(fetch.stdout).toContain('denied: private');
  });

  it('prints JSON with --json', async () => {
    const r = await moat('http://api.example.test/', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ allowed: true, reason: 'allowed', addresses: ['93.184.215.14'], rule: null, purpose: 'callback' });
  });

  it('answers unparseable and unresolvable URLs as denied', async () => {
    const bad = await moat('http://[::1', '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ allowed: false, reason: 'unparseable' });
    const gone = await moat('http://nowhere.test/');
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain('denied: unresolvable');
  });

  it('refuses a purpose that does not exist with exit status 2', async () => {
    const r = await moat('http://api.example.test/', '--purpose', 'webhook');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('callback, notify, fetch, forward');
  });
});
