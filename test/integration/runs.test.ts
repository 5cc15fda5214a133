/** Runs through the real HTTP API: workspaces of their own, isolation, ownership, scopes, deletion, persistence, client scope. */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/gateway.js';
import { tmpDir } from '../helpers/gateway.js';
import { createRun, invoke, tokenWith, toolGateway } from '../helpers/tools.js';

describe('runs and their workspaces', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await toolGateway();
  });
  afterAll(async () => {
    await g.stop();
  });

  it('creates a run with a 0700 workspace of its own and shows it back', async () => {
    const res = await g.fetch('/api/v1/runs', { method: 'POST', body: { service: 'llm', input: { prompt: 'hi' } } });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ service: 'llm', input: { prompt: 'hi' }, workspace: { mounts: [], root: null }, createdBy: 'admin' });
    expect(res.json.id).toMatch(/^run_[A-Za-z0-9_-]{12}$/);
    const dir = join(g.dataDir, 'workspaces', res.json.id);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(g.dataDir, 'workspaces')).mode & 0o777).toBe(0o700);
    expect((await g.fetch(`/api/v1/runs/${res.json.id}`)).json).toEqual(res.json);
  });

  it('lists runs newest first, up to limit', async () => {
    const a = await createRun(g);
    const b = await createRun(g);
    const list = await g.fetch('/api/v1/runs?limit=2');
    expect(list.json.runs.map((r: { id: string }) => r.id)).toEqual([b, a]);
  });

  it('deletes a run and its workspace; the run is then gone everywhere', async () => {
    const run = await createRun(g);
    await invoke(g, run, 'fs.write', { path: 'a/b/c.txt', content: 'x' });
    const del = await g.fetch(`/api/v1/runs/${run}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(existsSync(join(g.dataDir, 'workspaces', run))).toBe(false);
    expect((await g.fetch(`/api/v1/runs/${run}`)).json.code).toBe('run_not_found');
    expect((await invoke(g, run, 'fs.list', { path: '.' })).json.code).toBe('run_not_found');
    expect((await g.fetch(`/api/v1/runs/${run}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('deleting a run never follows a link out of its workspace', async () => {
    const run = await createRun(g);
    const outside = tmpDir('moat-outside-');
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    symlinkSync(outside, join(g.dataDir, 'workspaces', run, 'link'));
    expect((await g.fetch(`/api/v1/runs/${run}`, { method: 'DELETE' })).status).toBe(200);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it("isolates two runs: neither sees nor reaches the other's files", async () => {
    const a = await createRun(g);
    const b = await createRun(g);
    await invoke(g, a, 'fs.write', { path: 'private.txt', content: 'only for a' });
    expect((await invoke(g, b, 'fs.read', { path: 'private.txt' })).json.code).toBe('not_found');
    expect((await invoke(g, b, 'fs.read', { path: `../${a}/private.txt` })).json.code).toBe('path_invalid');
    expect((await invoke(g, b, 'fs.list', { path: '.' })).json.result.entries).toEqual([]);
    symlinkSync(join(g.dataDir, 'workspaces', a), join(g.dataDir, 'workspaces', b, 'to-a'));
    const via = await invoke(g, b, 'fs.read', { path: 'to-a/private.txt' });
    expect(via.json.code).toBe('path_outside_workspace');
    expect(via.text).not.toContain('only for a');
  });

  it('refuses input over 64 KiB, unknown mounts, and a client root when client scope is off', async () => {
    expect((await g.fetch('/api/v1/runs', { method: 'POST', body: { input: 'x'.repeat(70_000) } })).json.code).toBe('validation_failed');
    const m = await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { mounts: ['nope'] } } });
    expect(m.status).toBe(400);
    expect(m.json.code).toBe('validation_failed');
    const root = await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { root: 'projects/a' } } });
    expect(root.status).toBe(403);
    expect(root.json.code).toBe('path_outside_workspace');
    const hostPath = await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { root: '/etc' } } });
    expect(hostPath.status).toBe(403);
  });
});

describe('who may use runs', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await toolGateway();
  });
  afterAll(async () => {
    await g.stop();
  });

  it('refuses a token with only the read scope (403 scope_required) on create and invoke', async () => {
    const reader = await tokenWith(g, 'reader', ['read']);
    const run = await createRun(g);
    const create = await g.fetch('/api/v1/runs', { method: 'POST', body: {}, auth: reader });
    expect(create.status).toBe(403);
    expect(create.json).toMatchObject({ code: 'scope_required', scope: 'tools' });
    const inv = await invoke(g, run, 'fs.list', { path: '.' }, reader);
    expect(inv.status).toBe(403);
    expect(inv.json.code).toBe('scope_required');
    expect((await g.fetch('/api/v1/runs', { auth: reader })).json.runs).toEqual([]);
  });

  it('shows a run to the token that created it and to admin only', async () => {
    const alice = await tokenWith(g, 'alice', ['tools']);
    const bob = await tokenWith(g, 'bob', ['tools']);
    const run = await createRun(g, {}, alice);
    await invoke(g, run, 'fs.write', { path: 'a.txt', content: 'alice' }, alice);
    expect((await g.fetch(`/api/v1/runs/${run}`, { auth: bob })).json.code).toBe('run_not_found');
    expect((await invoke(g, run, 'fs.read', { path: 'a.txt' }, bob)).json.code).toBe('run_not_found');
    expect((await g.fetch(`/api/v1/runs/${run}`, { method: 'DELETE', auth: bob })).json.code).toBe('run_not_found');
    expect((await g.fetch('/api/v1/runs', { auth: bob })).json.runs).toEqual([]);
    expect((await g.fetch('/api/v1/runs', { auth: alice })).json.runs.map((r: { id: string }) => r.id)).toEqual([run]);
    expect((await invoke(g, run, 'fs.read', { path: 'a.txt' })).json.result.content).toBe('alice');
  });
});

describe('a run as the context of a job', () => {
  it('hands its workspace path to the server side (never to a client), scoped by owner when asked', async () => {
    const g = await toolGateway();
    try {
      const alice = await tokenWith(g, 'alice', ['tools']);
      const run = await createRun(g, {}, alice);
      expect(g.gw.parts.toolbox.workspaces.workspacePathOf(run)).toBe(join(realpathSync(g.dataDir), 'workspaces', run));
      const aliceId = (await g.fetch('/api/v1/tokens')).json.tokens.find((t: { name: string }) => t.name === 'alice').id as string;
      expect(g.gw.parts.toolbox.workspaces.workspacePathOf(run, { id: aliceId, admin: false })).toBe(join(realpathSync(g.dataDir), 'workspaces', run));
      expect(() => g.gw.parts.toolbox.workspaces.workspacePathOf(run, { id: 'tok_other', admin: false })).toThrow(
        expect.objectContaining({ code: 'run_not_found' }),
      );
    } finally {
      await g.stop();
    }
  });
});

describe('runs are durable', () => {
  it('survive a restart with their workspace', async () => {
    const dataDir = tmpDir();
    const g1 = await toolGateway({ dataDir });
    const run = await createRun(g1, { service: 'svc' });
    await invoke(g1, run, 'fs.write', { path: 'kept.txt', content: 'kept' });
    await g1.stop();
    const g2 = await toolGateway({ dataDir });
    try {
      expect((await g2.fetch(`/api/v1/runs/${run}`)).json.service).toBe('svc');
      expect((await invoke(g2, run, 'fs.read', { path: 'kept.txt' })).json.result.content).toBe('kept');
    } finally {
      await g2.stop();
    }
  });
});

describe('client scope (workspaces.allowClientScope, loopback only)', () => {
  let g: TestGateway;
  let base: string;
  beforeAll(async () => {
    base = tmpDir('moat-base-');
    mkdirSync(join(base, 'existing'));
    writeFileSync(join(base, 'existing', 'notes.txt'), 'notes');
    g = await toolGateway({ workspaces: { allowClientScope: true, clientScopeBase: base } });
  });
  afterAll(async () => {
    await g.stop();
  });

  it('says so in the policy and warns at boot', async () => {
    expect((await g.fetch('/api/v1/workspace/policy')).json.mode).toBe('client-scope');
    expect(g.logs.text).toContain('workspaces.allowClientScope is on');
  });
  it('lets a client choose a root under the base, created if missing, kept after the run is deleted', async () => {
    const res = await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { root: 'projects/./new/' } } });
    expect(res.status).toBe(201);
    expect(res.json.workspace.root).toBe('projects/new');
    await invoke(g, res.json.id, 'fs.write', { path: 'out.txt', content: 'out' });
    expect(readFileSync(join(base, 'projects', 'new', 'out.txt'), 'utf8')).toBe('out');
    const existing = await createRun(g, { workspace: { root: 'existing' } });
    expect((await invoke(g, existing, 'fs.read', { path: 'notes.txt' })).json.result.content).toBe('notes');
    await g.fetch(`/api/v1/runs/${existing}`, { method: 'DELETE' });
    expect(existsSync(join(base, 'existing', 'notes.txt'))).toBe(true);
  });
  it('refuses roots outside the base through the same path rule', async () => {
    // (`a//b` is `a/b`, as POSIX reads it: inside the base, so not in this list.)
    for (const root of ['..', '../x', '/etc', '%2e%2e', 'mount:docs', 'a/../../b', '//etc']) {
      const res = await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { root } } });
      expect(res.status, root).toBe(400);
      expect(res.json.code).toBe('path_invalid');
    }
    symlinkSync('/etc', join(base, 'etc-link'));
    expect((await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { root: 'etc-link' } } })).json.code).toBe('path_outside_workspace');
  });
});
