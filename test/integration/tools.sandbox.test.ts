/**
 * exec in the bubblewrap sandbox, from outside (when bwrap works on this host; CI installs it):
 * the command sees the workspace and read-only system directories only, no network unless the
 * operator allows it, and its whole tree dies on timeout. Without bwrap, `required` makes exec
 * unavailable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/domain/tools/sandbox.js';
import type { TestGateway } from '../helpers/gateway.js';
import { eventually, pidsWithMarker } from '../helpers/procs.js';
import { createRun, invoke, toolGateway } from '../helpers/tools.js';

const probe = await Sandbox.probe(process.env['PATH']);
/** Node inside the sandbox: only if it lives under /usr (bound read-only). */
const NODE = process.execPath.startsWith('/usr/') ? process.execPath : null;
const SECRET = 'secret-outside-the-workspace';

const CONNECT = `
const net = require('node:net');
const s = net.connect(Number(process.argv[2]), '127.0.0.1');
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => console.log('refused:' + e.code));
`;

describe.skipIf(probe.sandbox === null)('exec in the bubblewrap sandbox', () => {
  let g: TestGateway;
  let run: string;
  beforeAll(async () => {
    process.env['TOOLS_SANDBOX_SECRET'] = 'hunter2-in-the-gateway';
    g = await toolGateway({ tools: { allow: ['exec'], exec: { sandbox: 'required' } } });
    run = await createRun(g);
    writeFileSync(join(g.dataDir, 'outside.txt'), SECRET);
    await invoke(g, run, 'fs.write', { path: 'connect.cjs', content: CONNECT });
  });
  afterAll(async () => {
    delete process.env['TOOLS_SANDBOX_SECRET'];
    await g.stop();
  });
  const exec = (args: Record<string, unknown>) => invoke(g, run, 'exec', args);

  it('reports the sandbox as available and runs commands in it', async () => {
    expect(g.gw.parts.toolbox.sandboxStatus()).toEqual({ available: true, reason: null });
    const res = await exec({ argv: ['pwd'] });
    expect(res.json.result).toMatchObject({ stdout: '/workspace\n', sandboxed: true, exitCode: 0 });
  });

  it('cannot read a file outside the workspace, by host path or by climbing', async () => {
    for (const path of [join(g.dataDir, 'outside.txt'), join(g.dataDir, 'gateway-token'), '../outside.txt', '/proc/1/root' + join(g.dataDir, 'outside.txt')]) {
      const res = await exec({ argv: ['cat', path] });
      expect(res.status).toBe(200);
      expect(res.json.result.exitCode, path).not.toBe(0);
      expect(res.text).not.toContain(SECRET);
      expect(res.text).not.toContain(g.token);
    }
    const root = await exec({ argv: ['ls', '-a', '/'] });
    expect((root.json.result.stdout as string).split('\n').filter(Boolean).sort()).not.toContain('work');
    expect((await exec({ argv: ['ls', '-a', '/tmp'] })).json.result.stdout).toBe('.\n..\n');
  });

  it('writes the workspace, never the system directories', async () => {
    expect((await exec({ argv: ['touch', 'made-inside.txt'] })).json.result.exitCode).toBe(0);
    expect(existsSync(join(g.dataDir, 'workspaces', run, 'made-inside.txt'))).toBe(true);
    const res = await exec({ argv: ['touch', '/usr/moat-was-here'] });
    expect(res.json.result.exitCode).not.toBe(0);
    expect(existsSync('/usr/moat-was-here')).toBe(false);
  });

  it('gives the command a scrubbed environment', async () => {
    const res = await exec({ argv: ['env'] });
    expect((res.json.result.stdout as string).trim().split('\n').sort()).toEqual(['HOME=/workspace', 'PATH=/usr/local/bin:/usr/bin:/bin', 'PWD=/workspace']); // bwrap sets PWD on --chdir
    expect(res.text).not.toContain('hunter2');
  });

  it.skipIf(NODE === null)('has no network: the gateway on loopback is out of reach', async () => {
    const res = await exec({ argv: [NODE as string, 'connect.cjs', String(g.gw.port)] });
    expect(res.json.result.stdout).toMatch(/^refused:/);
  });

  it.skipIf(NODE === null)('kills the whole sandboxed tree on timeout', async () => {
    const marker = `moat-sandboxed-${randomBytes(6).toString('hex')}`;
    const script = `require('node:child_process').spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)", '${marker}'], { stdio: 'inherit' }); setInterval(() => {}, 1000);`;
    const res = await exec({ argv: [NODE as string, '-e', script], timeoutMs: 1500 });
    expect(res.json.result.timedOut).toBe(true);
    expect(await eventually(() => pidsWithMarker(marker).length === 0)).toBe(true);
  });
});

describe.skipIf(probe.sandbox === null || NODE === null)('exec with tools.exec.network', () => {
  it('reaches the network when the operator allows it', async () => {
    const g = await toolGateway({ tools: { allow: ['exec'], exec: { sandbox: 'required', network: true } } });
    try {
      const run = await createRun(g);
      await invoke(g, run, 'fs.write', { path: 'connect.cjs', content: CONNECT });
      const res = await invoke(g, run, 'exec', { argv: [NODE as string, 'connect.cjs', String(g.gw.port)] });
      expect(res.json.result).toMatchObject({ stdout: 'connected\n', sandboxed: true });
    } finally {
      await g.stop();
    }
  });
});

describe('without bubblewrap', () => {
  it('finds no sandbox on a PATH without bwrap', async () => {
    expect(await Sandbox.probe('/nonexistent')).toEqual({ sandbox: null, reason: 'bwrap (bubblewrap) is not installed' });
  });
  it('makes exec unavailable (503 tool_unavailable) when the sandbox is required, and warns at boot', async () => {
    const saved = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    let g: TestGateway;
    try {
      g = await toolGateway({ tools: { allow: ['exec'], exec: { sandbox: 'required' } } });
    } finally {
      process.env['PATH'] = saved;
    }
    try {
      expect(g.gw.parts.toolbox.sandboxStatus()).toEqual({ available: false, reason: 'bwrap (bubblewrap) is not installed' });
      const run = await createRun(g);
      const res = await invoke(g, run, 'exec', { argv: ['true'] });
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ code: 'tool_unavailable', tool: 'exec' });
      expect(g.logs.text).toContain('exec is unavailable: tools.exec.sandbox is required');
    } finally {
      await g.stop();
    }
  });
  it('runs without it under auto, and says so at boot', async () => {
    const saved = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    let g: TestGateway;
    try {
      g = await toolGateway({ tools: { allow: ['exec'] } });
    } finally {
      process.env['PATH'] = saved;
    }
    try {
      const run = await createRun(g);
      expect((await invoke(g, run, 'exec', { argv: ['true'] })).json.result.sandboxed).toBe(false);
      expect(g.logs.text).toContain('exec runs commands without a sandbox');
    } finally {
      await g.stop();
    }
  });
});
