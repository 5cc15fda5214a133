/**
 * Tool policy from outside: high-risk tools denied by default, opened by tools.allow (config or
 * MOAT_TOOLS_ALLOW), closed by tools.deny (which wins), listed per token; every call audited with
 * the argument shape and never the contents.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { auditText } from '../helpers/audit.js';
import { tmpDir } from '../helpers/gateway.js';
import { auditEntries, createRun, invoke, tokenWith, toolGateway } from '../helpers/tools.js';

const allowedOf = async (g: TestGateway, auth?: string) =>
  Object.fromEntries(
    ((await g.fetch('/api/v1/tools', auth ? { auth } : {})).json.tools as Array<{ name: string; allowed: boolean }>).map((t) => [t.name, t.allowed]),
  );

describe('by default', () => {
  let g: TestGateway;
  let run: string;
  beforeAll(async () => {
    g = await toolGateway();
    run = await createRun(g);
  });
  afterAll(async () => {
    await g.stop();
  });

  it.each([
    ['exec', { argv: ['true'] }],
    ['fs.delete', { path: 'a.txt' }],
  ] as const)('denies high-risk %s with 403 tool_denied, before looking at its arguments', async (tool, args) => {
    const res = await invoke(g, run, tool, args);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'tool_denied', tool, risk: 'high' });
    expect(res.json.detail).toContain('tools.allow');
    expect((await invoke(g, run, tool, { nonsense: true })).json.code).toBe('tool_denied');
  });
  it('allows low and medium risk tools', async () => {
    expect((await invoke(g, run, 'fs.write', { path: 'a.txt', content: 'a' })).status).toBe(200);
    expect((await invoke(g, run, 'fs.move', { path: 'a.txt', destination: 'b.txt' })).status).toBe(200);
    expect((await invoke(g, run, 'fs.read', { path: 'b.txt' })).status).toBe(200);
    expect((await invoke(g, run, 'fs.list', { path: '.' })).status).toBe(200);
  });
  it('lists every tool with its risk and whether this token may call it', async () => {
    const res = await g.fetch('/api/v1/tools');
    expect(res.json.tools.map((t: { name: string; risk: string }) => [t.name, t.risk])).toEqual([
      ['fs.list', 'low'],
      ['fs.read', 'low'],
      ['fs.write', 'medium'],
      ['fs.move', 'medium'],
      ['fs.delete', 'high'],
      ['http.fetch', 'medium'],
      ['exec', 'high'],
    ]);
    expect(await allowedOf(g)).toEqual({
      'fs.list': true,
      'fs.read': true,
      'fs.write': true,
      'fs.move': true,
      'fs.delete': false,
      'http.fetch': true,
      exec: false,
    });
  });
  it('tells a token without scope tools that it may call nothing', async () => {
    const reader = await tokenWith(g, 'reader', ['read']);
    expect(Object.values(await allowedOf(g, reader)).every((a) => a === false)).toBe(true);
    const jobs = await tokenWith(g, 'jobs-only', ['jobs']);
    expect((await g.fetch('/api/v1/tools', { auth: jobs })).json.code).toBe('scope_required');
  });
  it.each([
    ['the gateway itself on loopback', () => `${g.url}/api/v1/health`],
    ['a loopback spelling', () => `http://0x7f.1:${g.gw.port}/api/v1/health`],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/'],
    ['an IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${g.gw.port}/`],
  ])('refuses http.fetch to %s with 403 egress_denied, and audits it', async (_name, url) => {
    const res = await invoke(g, run, 'http.fetch', { url: url() });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'egress_denied', purpose: 'fetch' });
    const blocked = (await auditEntries(g)).filter((e) => e.type === 'egress.blocked');
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked[blocked.length - 1]).toMatchObject({ detail: { purpose: 'fetch' } });
  });
});

describe('http.fetch through the egress guard', () => {
  it('fetches a URL the operator opened for the fetch purpose', async () => {
    const http = await import('node:http');
    const upstream = http.createServer((_req, res) => res.end('hello from upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const g = await toolGateway({ egress: { purposes: { fetch: { allowCidrs: ['127.0.0.1/32'] } } } });
    try {
      const run = await createRun(g);
      const res = await invoke(g, run, 'http.fetch', { url: `http://127.0.0.1:${port}/x` });
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.json.result)).toContain('hello from upstream');
      // The exception is for this purpose only: a callback to the same address stays refused.
      const check = await g.fetch('/api/v1/egress/check', { method: 'POST', body: { url: `http://127.0.0.1:${port}/x`, purpose: 'callback' } });
      expect(check.json.allowed).toBe(false);
    } finally {
      await g.stop();
      upstream.close();
    }
  });
});

describe('tools.allow and tools.deny', () => {
  it('opens the high-risk tools named in tools.allow, and says so at boot', async () => {
    const g = await toolGateway({ tools: { allow: ['exec', 'fs.delete'] } });
    try {
      const run = await createRun(g);
      expect((await invoke(g, run, 'exec', { argv: ['true'] })).status).toBe(200);
      await invoke(g, run, 'fs.write', { path: 'a.txt', content: 'a' });
      expect((await invoke(g, run, 'fs.delete', { path: 'a.txt' })).status).toBe(200);
      expect(g.logs.text).toContain('tools.allow opens high-risk tools over HTTP: fs.delete, exec');
      const boot = (await auditEntries(g)).find((e) => e.type === 'gateway.boot');
      expect(boot?.detail.warnings).toContain('tools.allow opens high-risk tools over HTTP: fs.delete, exec');
    } finally {
      await g.stop();
    }
  });
  it('closes a tool in tools.deny even when tools.allow names it (deny wins)', async () => {
    const g = await toolGateway({ tools: { allow: ['exec'], deny: ['exec', 'fs.read'] } });
    try {
      const run = await createRun(g);
      const res = await invoke(g, run, 'exec', { argv: ['true'] });
      expect(res.status).toBe(403);
      expect(res.json.detail).toContain('tools.deny');
      expect((await invoke(g, run, 'fs.read', { path: 'x' })).json.code).toBe('tool_denied');
      expect(await allowedOf(g)).toMatchObject({ exec: false, 'fs.read': false, 'fs.list': true });
    } finally {
      await g.stop();
    }
  });
  it('reads MOAT_TOOLS_ALLOW and MOAT_TOOLS_DENY (comma lists) from the environment', async () => {
    const g = await toolGateway({}, { env: { MOAT_TOOLS_ALLOW: 'exec, fs.delete', MOAT_TOOLS_DENY: 'fs.delete' } });
    try {
      const run = await createRun(g);
      expect((await invoke(g, run, 'exec', { argv: ['true'] })).status).toBe(200);
      expect((await invoke(g, run, 'fs.delete', { path: 'x' })).json.code).toBe('tool_denied');
      expect(g.gw.configSources.get('tools.allow')).toBe('env');
    } finally {
      await g.stop();
    }
  });
  it('refuses unknown tool names at boot with a hint (config_invalid)', () => {
    const dataDir = tmpDir();
    expect(() => createGateway({ values: { dataDir, tools: { allow: ['exce'] } } })).toThrow(/tools\.allow: unknown tool "exce", did you mean exec\?/);
    expect(() => createGateway({ values: { dataDir }, env: { MOAT_TOOLS_DENY: 'fs.rm' } })).toThrow(/tools\.deny: unknown tool "fs\.rm"/);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('the audit trail of tool calls', () => {
  it('records every call with tool, run, argument shape, outcome and duration, never contents', async () => {
    const g = await toolGateway();
    try {
      const run = await createRun(g);
      const marker = 'CONTENT-THAT-MUST-NOT-BE-AUDITED';
      await invoke(g, run, 'fs.write', { path: 'secret-plan.txt', content: marker });
      await invoke(g, run, 'fs.read', { path: 'secret-plan.txt' });
      await invoke(g, run, 'exec', { argv: ['echo', marker] });
      await invoke(g, run, 'fs.read', { path: '../../etc/passwd' });
      const entries = await auditEntries(g);
      const tools = entries.filter((e) => e.type === 'tool.invoked' || e.type === 'tool.denied');
      expect(tools.map((e) => [e.type, e.outcome, e.detail.tool])).toEqual([
        ['tool.invoked', 'ok', 'fs.write'],
        ['tool.invoked', 'ok', 'fs.read'],
        ['tool.denied', 'denied', 'exec'],
        ['tool.invoked', 'blocked', 'fs.read'],
      ]);
      expect(tools[0]).toMatchObject({
        actor: { id: 'admin' },
        detail: { run, risk: 'medium', args: { path: 'string:15', content: `string:${marker.length}` }, targets: ['workspace'] },
      });
      expect(typeof tools[0]?.detail.durationMs).toBe('number');
      expect(tools[2]).toMatchObject({ code: 'tool_denied', detail: { args: { argv: 'array:2' } } });
      expect(tools[3]).toMatchObject({ code: 'path_invalid' });
      expect(entries.find((e) => e.type === 'run.created')?.detail.runId).toBe(run);
      const files = auditText(g.dataDir);
      expect(files).not.toContain(marker);
      expect(files).not.toContain('secret-plan');
      expect(files).not.toContain('etc/passwd');
    } finally {
      await g.stop();
    }
  });
});
