/**
 * The host side of container services, on real files: the boot check that keeps the engine's socket
 * (however it is spelled: a symbolic link, a parent directory, a device entry) and moat's data dir
 * out of containers, and the doctor's judgement of the engine and its socket.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CHECKS } from '../../src/domain/doctor/index.js';
import type { DoctorContext, GatewayFacts } from '../../src/domain/doctor/types.js';
import { checkService, type ServiceSpec } from '../../src/domain/services/spec.js';
import { checkContainerHost } from '../../src/domain/supervisor/container-host.js';
import type { EngineFacts } from '../../src/domain/supervisor/containers.js';
import { tmpDir } from '../helpers/gateway.js';

const dir = tmpDir('moat-chost-');
const sock = join(dir, 'run', 'engine.sock');
const other = join(dir, 'other.sock');
const server = createServer();
const server2 = createServer();

beforeAll(async () => {
  mkdirSync(join(dir, 'run'));
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'models', 'w.bin'), 'x');
  symlinkSync(sock, join(dir, 'link-to-sock'));
  symlinkSync(join(dir, 'run'), join(dir, 'link-to-run'));
  await new Promise<void>((r) => server.listen(sock, r));
  await new Promise<void>((r) => server2.listen(other, r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await new Promise((r) => server2.close(r));
});

const def = (extra: Record<string, unknown>) =>
  checkService({ name: 'gpu', kind: 'container', image: 'busybox:1', port: 80, ...extra } as ServiceSpec, 'config');
const check =
  (extra: Record<string, unknown>, dataDir = join(dir, 'state')) =>
  () =>
    checkContainerHost([def(extra)], { socket: sock, dataDir, uid: 4242 });

describe('what a container may not be given', () => {
  const volume = (host: string) => ({ volumes: [{ host, container: '/x' }] });
  it.each([
    ['the socket itself', () => volume(sock), "is the container engine's socket"],
    ['a symbolic link to the socket', () => volume(join(dir, 'link-to-sock')), "the container engine's socket"],
    ['the directory holding it', () => volume(join(dir, 'run')), "holds the container engine's socket"],
    ['a symbolic link to that directory', () => volume(join(dir, 'link-to-run')), "holds the container engine's socket"],
    ['the root of the host', () => volume('/'), "holds the container engine's socket"],
    ["Docker's socket, even where Docker is not installed", () => volume('/var/run/docker.sock'), "the container engine's socket"],
    ["rootless Podman's socket of moat's user", () => volume('/run/user/4242/podman/podman.sock'), "the container engine's socket"],
    ['another unix socket', () => volume(other), 'is a unix socket'],
    ['a path that does not exist', () => volume(join(dir, 'nope')), 'does not exist (ENOENT)'],
    ["moat's data dir", () => volume(join(dir, 'state-here')), "overlaps moat's data dir"],
    ['a directory inside the data dir', () => volume(join(dir, 'state-here', 'keys')), "overlaps moat's data dir"],
  ])('refuses a volume of %s', (_label, extra, message) => {
    mkdirSync(join(dir, 'state-here', 'keys'), { recursive: true });
    expect(check(extra(), join(dir, 'state-here'))).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining(message) }));
  });

  it('refuses the engine socket as a device (through a symbolic link under /dev is the same)', () => {
    expect(() =>
      checkContainerHost([{ ...def({}), container: { ...def({}).container!, devices: [join(dir, 'link-to-sock')] } }], {
        socket: sock,
        dataDir: join(dir, 'state'),
      }),
    ).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('devices[0]') }));
  });

  it('accepts a plain directory and a device that is not there yet', () => {
    expect(check({ volumes: [{ host: join(dir, 'models'), container: '/models', readOnly: true }], devices: ['/dev/nvidia-absent0'] })).not.toThrow();
  });

  it('checks nothing of the host when no container service is declared (but still the endpoint)', () => {
    const url = checkService({ name: 'u', kind: 'url', baseUrl: 'http://127.0.0.1:9' } as ServiceSpec, 'config');
    expect(() => checkContainerHost([url], { socket: sock, dataDir: dir })).not.toThrow();
    expect(() => checkContainerHost([url], { socket: 'http://192.0.2.1:2375', dataDir: dir })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });
});

/** A healthy running gateway's facts, with one container service and `engine` as the engine. */
function context(
  engine: EngineFacts | null,
  services: Array<Record<string, unknown>> = [{ name: 'gpu', kind: 'container', image: 'busybox:1', port: 80 }],
): DoctorContext {
  const { config, sources } = loadConfig({ values: { dataDir: '/nonexistent', services } });
  const gateway = {
    config,
    sources,
    posture: { host: '127.0.0.1', bindClass: 'loopback', tls: false, auth: true, warnings: [] },
    containers: engine,
    uid: 1000,
  } as unknown as GatewayFacts;
  return {
    now: 0,
    dataDir: '/nonexistent',
    dataDirExists: true,
    modes: [],
    tokenFile: 'ok',
    certificate: null,
    renewWithinDays: 30,
    audit: { verify: null, error: null },
    auditKey: {
      path: '/nonexistent-keys/audit.key',
      anchorFile: '/nonexistent-keys/audit-anchors.jsonl',
      mode: 0o600,
      uid: 0,
      gid: 0,
      ownUid: 0,
      ownGid: 0,
      insideDataDir: false,
      anchorInsideDataDir: false,
    },
    gateway,
  };
}
const run = (id: string, ctx: DoctorContext) => CHECKS.find((c) => c.id === id)!.run(ctx);
const facts = (socket: Partial<NonNullable<EngineFacts['socket']>> | null, extra: Partial<EngineFacts> = {}): EngineFacts => ({
  endpoint: '/var/run/docker.sock',
  socket: socket === null ? null : { path: '/var/run/docker.sock', uid: 0, gid: 999, mode: 0o660, isSocket: true, ...socket },
  reachable: true,
  engine: { name: 'Docker Engine', version: '28.1.1', apiVersion: '1.49' },
  error: null,
  ...extra,
});

describe('moat doctor on the container engine', () => {
  it.each([
    ['root:docker 0660', facts({}), 'ok'],
    ["moat's own rootless socket", facts({ uid: 1000, mode: 0o600 }), 'ok'],
    ['a socket of another user', facts({ uid: 1234 }), 'warn'],
    ['a socket writable by everyone', facts({ mode: 0o666 }), 'fail'],
    ['a file that is not a socket', facts({ isSocket: false }), 'fail'],
    ['an engine over TCP', facts(null, { endpoint: 'http://127.0.0.1:2375' }), 'warn'],
  ])('judges %s as %s', (_label, f, severity) => {
    expect(run('containers.socket', context(f)).severity).toBe(severity);
  });

  it('fails containers.engine when the engine does not answer, with what to start', () => {
    const r = run(
      'containers.engine',
      context(
        facts({}, { reachable: false, engine: null, error: 'the container engine at /var/run/docker.sock is not reachable (ECONNREFUSED): start Docker' }),
      ),
    );
    expect(r).toMatchObject({ severity: 'fail', finding: expect.stringContaining('start Docker') });
    expect(run('containers.engine', context(facts({}))).finding).toContain('Docker Engine 28.1.1');
  });

  it('warns about a container on the host network, and about GPUs asked of Podman', () => {
    expect(run('containers.options', context(facts({}), [{ name: 'gpu', kind: 'container', image: 'busybox:1', port: 80, network: 'host' }])).severity).toBe(
      'warn',
    );
    const podman = facts({}, { engine: { name: 'Podman Engine', version: '4.3.1', apiVersion: '4.3.1' } });
    expect(run('containers.options', context(podman, [{ name: 'gpu', kind: 'container', image: 'busybox:1', port: 80, gpus: 'all' }]))).toMatchObject({
      severity: 'warn',
      finding: expect.stringContaining('ignores device requests'),
    });
    expect(run('containers.options', context(facts({}), [{ name: 'gpu', kind: 'container', image: 'busybox:1', port: 80, gpus: 'all' }])).severity).toBe('ok');
  });
});
