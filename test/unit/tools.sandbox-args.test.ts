/** bubblewrap's argument list: the workspace bound at /workspace, system directories read-only, no network by default, argv after `--`. */
import { describe, expect, it } from 'vitest';
import { bwrapArgs, findExecutable, systemBinds } from '../../src/domain/tools/sandbox.js';

const SYSTEM = ['--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin'];

describe('bwrapArgs', () => {
  const args = bwrapArgs(SYSTEM, { workspace: '/data/workspaces/run_x', cwd: '/workspace/sub', network: false, argv: ['ls', '-la', '--', '$(id)'] }, false);

  it('unshares every namespace, dies with the gateway, starts a new session', () => {
    expect(args.slice(0, 3)).toEqual(['--unshare-all', '--die-with-parent', '--new-session']);
    expect(args).not.toContain('--share-net');
  });
  it('binds only the workspace read-write, at /workspace, and works there', () => {
    const binds = args.flatMap((a, i) => (a === '--bind' ? [[args[i + 1], args[i + 2]]] : []));
    expect(binds).toEqual([['/data/workspaces/run_x', '/workspace']]);
    expect(args[args.indexOf('--chdir') + 1]).toBe('/workspace/sub');
    expect(args).toEqual(expect.arrayContaining(['--tmpfs', '/tmp', '--proc', '/proc', '--dev', '/dev']));
  });
  it('puts argv after --, untouched', () => {
    expect(args.slice(args.indexOf('--') + 1)).toEqual(['ls', '-la', '--', '$(id)']);
  });
  it('shares the network (and name resolution files) only when allowed', () => {
    const net = bwrapArgs(SYSTEM, { workspace: '/w', cwd: '/workspace', network: true, argv: ['true'] }, false);
    expect(net).toContain('--share-net');
    expect(net).toEqual(expect.arrayContaining(['--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf']));
  });
  it('drops every capability when the gateway runs as root', () => {
    expect(bwrapArgs(SYSTEM, { cwd: '/', network: false, argv: ['true'] }, true)).toEqual(expect.arrayContaining(['--cap-drop', 'ALL']));
  });
});

describe('systemBinds', () => {
  it('binds system directories read-only (or as the links they are) and never /etc wholesale, /home or /root', () => {
    const binds = systemBinds();
    expect(binds).toContain('/usr');
    const targets = binds.filter((_a, i) => i % 3 === 2);
    expect(targets).not.toContain('/etc');
    expect(targets).not.toContain('/home');
    expect(targets).not.toContain('/root');
    expect(binds).not.toContain('--bind');
  });
});

describe('findExecutable', () => {
  it('finds programs on absolute PATH entries only', () => {
    expect(findExecutable('sh', '/usr/bin:/bin')).toMatch(/\/sh$/);
    expect(findExecutable('sh', 'relative/dir:.')).toBeNull();
    expect(findExecutable('no-such-program', '/usr/bin')).toBeNull();
  });
});
