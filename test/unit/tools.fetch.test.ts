/**
 * http.fetch's seam to the egress guard: without a fetcher it is unavailable; with one, every call
 * goes through it with purpose `fetch` and the caller's identity, and its refusals pass through.
 * (The guard itself, and loopback refusal end to end, are tested where src/egress is wired.)
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { fetchTool } from '../../src/domain/tools/fetch.js';
import type { FetchRequest, Fetcher } from '../../src/domain/tools/types.js';

const call = (args: Record<string, unknown>) => ({
  args: args as never,
  runId: 'run_x',
  roots: { workspace: { label: 'the workspace', hostPath: '/nonexistent', readOnly: false }, mounts: new Map() },
  actor: { id: 'tok_1', name: 'agent' },
  requestId: 'req-1',
});

describe('http.fetch', () => {
  it('is unavailable without a fetcher', () => {
    expect(fetchTool(() => null).unavailable?.()).toMatch(/egress guard/);
  });
  it('asks the fetcher with purpose fetch and the caller, and encodes the body', async () => {
    const seen: FetchRequest[] = [];
    const fetcher: Fetcher = {
      request: async (req) => {
        seen.push(req);
        return { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello'), url: req.url };
      },
    };
    const tool = fetchTool(() => fetcher);
    expect(tool.unavailable?.()).toBeNull();
    const result = await tool.run(call({ url: 'https://example.com/a', method: 'POST', body: 'x' }));
    expect(seen).toEqual([
      { url: 'https://example.com/a', purpose: 'fetch', method: 'POST', body: 'x', actor: { id: 'tok_1', name: 'agent' }, requestId: 'req-1' },
    ]);
    expect(result).toEqual({
      status: 200,
      headers: { 'content-type': 'text/plain' },
      url: 'https://example.com/a',
      size: 5,
      content: 'hello',
      encoding: 'utf8',
    });
  });
  it("passes the guard's refusal through as it is", async () => {
    const tool = fetchTool(() => ({ request: async () => Promise.reject(new GatewayError('tool_denied', 'refused by the guard')) }));
    await expect(tool.run(call({ url: 'http://127.0.0.1/' }))).rejects.toMatchObject({ code: 'tool_denied' });
  });
});
