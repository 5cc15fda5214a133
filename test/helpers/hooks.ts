/** Helpers for hook, trigger and task tests: signing like each sender, posting raw bytes, reading jobs and audit entries. */
import { createHmac } from 'node:crypto';
import type { TestGateway, TestResponse } from './gateway.js';
import { waitFor } from './services.js';
import { auditEntries } from './tools.js';

export const hmacHex = (secret: string, ...parts: Array<string | Buffer>): string => {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export const githubHeaders = (secret: string, body: string, delivery?: string, event = 'push'): Record<string, string> => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-hub-signature-256': `sha256=${hmacHex(secret, body)}`,
  ...(delivery ? { 'x-github-delivery': delivery } : {}),
});

/** POSTs `body` as exactly these bytes, with no bearer token (hooks authenticate by signature). */
export function deliver(g: TestGateway, name: string, body: string | Buffer, headers: Record<string, string>): Promise<TestResponse> {
  return g.fetch(`/hooks/${name}`, { method: 'POST', auth: false, raw: body, headers });
}

export async function jobIds(g: TestGateway): Promise<string[]> {
  const res = await g.fetch('/api/v1/jobs?limit=500');
  return (res.json.jobs as Array<{ id: string }>).map((j) => j.id);
}

export async function taskIds(g: TestGateway): Promise<string[]> {
  const res = await g.fetch('/api/v1/tasks?limit=500');
  return (res.json.tasks as Array<{ id: string }>).map((t) => t.id);
}

export async function waitForJob(g: TestGateway, id: string, states = ['succeeded', 'failed', 'canceled']): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const res = await g.fetch(`/api/v1/jobs/${id}`);
      return states.includes(res.json?.state) ? (res.json as Record<string, any>) : null;
    },
    `job ${id} to reach ${states.join('|')}`,
  );
}

/** Audit entries of one type, after flushing. */
export async function audited(g: TestGateway, type: string): Promise<Array<Record<string, any>>> {
  return (await auditEntries(g)).filter((e) => e.type === type);
}
