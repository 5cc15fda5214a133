/** Helpers for tests of runs and tools through the real HTTP API. */
import { startGateway, type TestGateway, type TestResponse } from './gateway.js';
import type { GatewayOptions } from '../../src/gateway.js';

/** A real gateway without rate limits (the tables send hundreds of requests from one address). */
export function toolGateway(values: Record<string, unknown> = {}, extra: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  return startGateway({ rateLimit: { enabled: false }, ...values }, extra);
}

export async function createRun(g: TestGateway, body: Record<string, unknown> = {}, auth?: string): Promise<string> {
  const res = await g.fetch('/api/v1/runs', { method: 'POST', body, ...(auth ? { auth } : {}) });
  if (res.status !== 201) throw new Error(`run not created: ${res.status} ${res.text}`);
  return res.json.id as string;
}

export function invoke(g: TestGateway, run: string, tool: string, args: Record<string, unknown>, auth?: string): Promise<TestResponse> {
  return g.fetch('/api/v1/tools/invoke', { method: 'POST', body: { run, tool, args }, ...(auth ? { auth } : {}) });
}

/** A token with exactly these scopes (created with the admin token). */
export async function tokenWith(g: TestGateway, name: string, scopes: string[]): Promise<string> {
  const res = await g.fetch('/api/v1/tokens', { method: 'POST', body: { name, scopes } });
  if (res.status !== 201) throw new Error(`token not created: ${res.status} ${res.text}`);
  return res.json.token as string;
}

/** Audit entries of the gateway (after flushing the writer). */
export async function auditEntries(g: TestGateway): Promise<Array<Record<string, any>>> {
  await g.fetch('/api/v1/audit/verify'); // flushes the writer
  const out: Array<Record<string, any>> = [];
  let after = 0;
  for (;;) {
    const res = await g.fetch(`/api/v1/audit?after=${after}&limit=1000`);
    out.push(...(res.json.entries as Array<Record<string, any>>));
    if (res.json.next === null) return out;
    after = res.json.next as number;
  }
}
