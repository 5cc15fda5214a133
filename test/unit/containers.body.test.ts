/**
 * The pure parts of container services: the exact Engine API create body (GPUs as `docker run
 * --gpus` sends them, the port on 127.0.0.1 only, labels, hardening defaults), the demultiplexing
 * of the engine's 8-byte-framed log stream, image references, sizes and the engine endpoint.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkService, type ServiceSpec } from '../../src/domain/services/spec.js';
import { parseSize } from '../../src/domain/services/container-spec.js';
import { createBody, deviceRequests } from '../../src/domain/supervisor/container-body.js';
import { parseEngineEndpoint, splitImage } from '../../src/egress/engine.js';
import { demux } from '../../src/egress/engine-stream.js';

const container = (extra: Record<string, unknown> = {}) => {
  const def = checkService({ name: 'vllm', kind: 'container', image: 'vllm/vllm-openai:v0.9.1', port: 8000, ...extra } as ServiceSpec, 'config');
  return def.container!;
};

describe('GPUs as device requests (docker run --gpus)', () => {
  it('turns "all" into Count -1 with the nvidia driver and the gpu capability', () => {
    const body = createBody({ service: 'vllm', instance: 'i', container: container({ gpus: 'all' }), env: {} });
    expect(JSON.stringify((body['HostConfig'] as Record<string, unknown>)['DeviceRequests'])).toBe('[{"Driver":"nvidia","Count":-1,"Capabilities":[["gpu"]]}]');
  });
  it('turns a count into Count n', () => {
    const body = createBody({ service: 'vllm', instance: 'i', container: container({ gpus: 2 }), env: {} });
    expect(JSON.stringify((body['HostConfig'] as Record<string, unknown>)['DeviceRequests'])).toBe('[{"Driver":"nvidia","Count":2,"Capabilities":[["gpu"]]}]');
  });
  it('turns a list of ids into DeviceIDs', () => {
    const body = createBody({ service: 'vllm', instance: 'i', container: container({ gpus: ['0', '3'] }), env: {} });
    expect(JSON.stringify((body['HostConfig'] as Record<string, unknown>)['DeviceRequests'])).toBe(
      '[{"Driver":"nvidia","DeviceIDs":["0","3"],"Capabilities":[["gpu"]]}]',
    );
  });
  it('sends no device request without gpus', () => {
    expect(deviceRequests(null)).toEqual([]);
    expect(createBody({ service: 'vllm', instance: 'i', container: container(), env: {} })['HostConfig']).not.toHaveProperty('DeviceRequests');
  });
});

describe('the create body', () => {
  it('is exactly this for the documented vLLM example', () => {
    const c = container({
      args: ['--model', '/models/qwen', '--port', '8000'],
      gpus: 'all',
      volumes: [{ host: '/srv/models', container: '/models', readOnly: true }],
      shmSize: '8g',
    });
    expect(createBody({ service: 'vllm', instance: 'a'.repeat(32), container: c, env: { HF_HUB_OFFLINE: '1', MOAT_TOKEN: 'x' } })).toEqual({
      Image: 'vllm/vllm-openai:v0.9.1',
      Cmd: ['--model', '/models/qwen', '--port', '8000'],
      Env: ['HF_HUB_OFFLINE=1'],
      ExposedPorts: { '8000/tcp': {} },
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Labels: { 'moat.managed': 'true', 'moat.service': 'vllm', 'moat.instance': 'a'.repeat(32) },
      HostConfig: {
        NetworkMode: 'bridge',
        PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
        Privileged: false,
        ReadonlyRootfs: false,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Mounts: [{ Type: 'bind', Source: '/srv/models', Target: '/models', ReadOnly: true }],
        Devices: [],
        DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }],
        ShmSize: 8 * 1024 ** 3,
      },
    });
  });

  it('never publishes on 0.0.0.0, and publishes nothing on the host network', () => {
    const bridge = createBody({ service: 's', instance: 'i', container: container(), env: {} });
    expect(JSON.stringify(bridge)).not.toContain('0.0.0.0');
    const host = createBody({ service: 's', instance: 'i', container: container({ network: 'host' }), env: {} });
    expect(host['HostConfig']).toMatchObject({ NetworkMode: 'host' });
    expect(host['HostConfig']).not.toHaveProperty('PortBindings');
    expect(host).not.toHaveProperty('ExposedPorts');
  });

  it('carries limits, user, entrypoint, devices and added capabilities', () => {
    const c = container({
      memory: '512m',
      cpus: 1.5,
      user: '1000:1000',
      entrypoint: ['/bin/sh', '-c'],
      devices: ['/dev/dri'],
      capAdd: ['CHOWN'],
      readOnlyRootfs: true,
    });
    const body = createBody({ service: 's', instance: 'i', container: c, env: {} });
    expect(body).toMatchObject({ User: '1000:1000', Entrypoint: ['/bin/sh', '-c'] });
    expect(body).not.toHaveProperty('Cmd');
    expect(body['HostConfig']).toMatchObject({
      Memory: 512 * 1024 ** 2,
      NanoCpus: 1_500_000_000,
      ReadonlyRootfs: true,
      CapAdd: ['CHOWN'],
      Devices: [{ PathOnHost: '/dev/dri', PathInContainer: '/dev/dri', CgroupPermissions: 'rwm' }],
    });
  });
});

describe('container service rules', () => {
  const refused: Array<[string, Record<string, unknown>, string]> = [
    ['privileged', { privileged: true }, 'privileged: a privileged container is root on the host'],
    ['pid host', { pid: 'host' }, 'pid: "host"'],
    ['ipc host', { ipc: 'host' }, 'ipc: "host"'],
    ['joining a pid namespace', { pid: 'container:db' }, 'joining another namespace is refused'],
    ['joining an ipc namespace', { ipc: 'container:db' }, 'joining another namespace is refused'],
    ['CAP_SYS_ADMIN', { capAdd: ['CAP_SYS_ADMIN'] }, 'capAdd: CAP_SYS_ADMIN opens the way out'],
    ['SYS_MODULE', { capAdd: ['SYS_MODULE'] }, 'capAdd: SYS_MODULE'],
    ['DAC_READ_SEARCH', { capAdd: ['DAC_READ_SEARCH'] }, 'capAdd: DAC_READ_SEARCH'],
    ['ALL caps', { capAdd: ['ALL'] }, 'capAdd: ALL'],
    ['network none', { network: 'none' }, 'network: "none"'],
    ['network container:x', { network: 'container:db' }, 'network'],
    ['a tiny memory limit', { memory: '1m' }, 'memory: below 6m'],
    ['a bad size', { shmSize: '8q' }, 'shmSize'],
    ['.. in a volume', { volumes: [{ host: '/srv/../etc', container: '/x' }] }, 'has . or .. segments'],
    ['a volume over /', { volumes: [{ host: '/srv', container: '/' }] }, 'nothing can be mounted over /'],
    [
      'a target mounted twice',
      {
        volumes: [
          { host: '/a', container: '/x' },
          { host: '/b', container: '/x' },
        ],
      },
      'mounted twice',
    ],
    ['a relative volume', { volumes: [{ host: 'srv', container: '/x' }] }, 'host'],
    ['a device outside /dev', { devices: ['/var/run/docker.sock'] }, 'devices'],
    ['a command', { command: ['/bin/true'] }, 'no `command`'],
    ['a baseUrl', { baseUrl: 'http://127.0.0.1:8000' }, 'no `baseUrl`'],
    ['a shell-ish image', { image: 'busybox; rm -rf /' }, 'image'],
  ];
  it.each(refused)('refuses %s at boot (config_invalid, naming the key)', (_label, extra, message) => {
    expect(() => container(extra)).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining(message) }));
  });

  it('refuses a container service from the API with service_container_refused', () => {
    expect(() => checkService({ name: 'x', kind: 'container', image: 'busybox:1', port: 80 } as ServiceSpec, 'api')).toThrow(
      expect.objectContaining({ code: 'service_container_refused' }),
    );
  });

  it('refuses container keys on a url or command service', () => {
    for (const key of ['image', 'port', 'gpus', 'volumes', 'privileged', 'args']) {
      const value =
        key === 'volumes'
          ? [{ host: '/a', container: '/b' }]
          : key === 'args'
            ? ['x']
            : key === 'port'
              ? 80
              : key === 'privileged'
                ? true
                : key === 'gpus'
                  ? 'all'
                  : 'x:1';
      expect(() => checkService({ name: 'u', kind: 'url', baseUrl: 'http://127.0.0.1:9', [key]: value } as ServiceSpec, 'config'), key).toThrow(
        expect.objectContaining({ code: 'config_invalid' }),
      );
    }
  });

  it('fills the hardening defaults', () => {
    expect(container()).toMatchObject({
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      network: 'bridge',
      pull: 'missing',
      readOnlyRootfs: false,
      gpus: null,
    });
  });
});

describe('sizes, image references and the engine endpoint', () => {
  it.each([
    ['8g', 8 * 1024 ** 3],
    ['512m', 512 * 1024 ** 2],
    ['64k', 65_536],
    ['1048576', 1_048_576],
    ['1.5G', 1.5 * 1024 ** 3],
  ])('reads %s as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['vllm/vllm-openai:v0.9.1', 'vllm/vllm-openai', 'v0.9.1'],
    ['ollama/ollama', 'ollama/ollama', 'latest'],
    ['localhost:5000/a/b', 'localhost:5000/a/b', 'latest'],
    ['localhost:5000/a/b:2', 'localhost:5000/a/b', '2'],
    [`busybox@sha256:${'0'.repeat(64)}`, 'busybox', `sha256:${'0'.repeat(64)}`],
  ])('pulls %s as %s with tag %s (never an empty tag: that pulls every tag)', (ref, repo, tag) => {
    expect(splitImage(ref)).toEqual({ repo, tag });
  });

  it('accepts a unix socket or a loopback http endpoint', () => {
    expect(parseEngineEndpoint('/var/run/docker.sock')).toMatchObject({ socketPath: '/var/run/docker.sock' });
    expect(parseEngineEndpoint('unix:///run/podman/podman.sock')).toMatchObject({ socketPath: '/run/podman/podman.sock' });
    expect(parseEngineEndpoint('http://127.0.0.1:2375')).toMatchObject({ socketPath: null, origin: 'http://127.0.0.1:2375' });
    expect(parseEngineEndpoint('tcp://localhost:2375')).toMatchObject({ socketPath: null, origin: 'http://localhost:2375' });
  });

  it.each([
    'http://10.0.0.5:2375',
    'https://127.0.0.1:2376',
    'http://user:pw@127.0.0.1:2375',
    'http://127.0.0.1:2375/v1.41',
    'docker.sock',
    'http://127.0.0.1.nip.io:2375',
  ])('refuses the engine endpoint %s', (raw) => {
    expect(() => parseEngineEndpoint(raw)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });
});

/** One frame of the engine's multiplexed stream. */
const frame = (type: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

async function collect(chunks: Buffer[]): Promise<{ stdout: string; stderr: string }> {
  const source = new PassThrough();
  const { stdout, stderr } = demux(source);
  const read = (s: PassThrough) =>
    new Promise<string>((resolve) => {
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
    });
  const out = Promise.all([read(stdout), read(stderr)]);
  for (const c of chunks) source.write(c);
  source.end();
  const [o, e] = await out;
  return { stdout: o, stderr: e };
}

describe('the multiplexed log stream', () => {
  it('splits stdout and stderr frames', async () => {
    expect(await collect([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')])).toEqual({ stdout: 'out 1\nout 2\n', stderr: 'err 1\n' });
  });

  it('reassembles headers and payloads split at every byte', async () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n'), frame(3, 'engine says no\n')]);
    const bytes = [...all].map((b) => Buffer.from([b]));
    expect(await collect(bytes)).toEqual({ stdout: 'hello world\n', stderr: 'oops\nengine says no\n' });
  });

  it('drops stdin echo frames and handles empty frames', async () => {
    expect(await collect([frame(0, 'typed\n'), frame(1, ''), frame(1, 'x\n')])).toEqual({ stdout: 'x\n', stderr: '' });
  });

  it('stops at a stream that is not multiplexed instead of printing header bytes', async () => {
    const got = await collect([frame(1, 'ok\n'), Buffer.from('plain text from a tty container\n')]);
    expect(got).toEqual({ stdout: 'ok\n', stderr: '' });
  });
});
