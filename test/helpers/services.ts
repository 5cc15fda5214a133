/** Helpers for service tests: real child processes (the example worker, a misbehaving fake), polling, pids. */
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { isAlive } from '../../src/domain/supervisor/orphans.js';
import { freePort } from './net.js';

export const WORKER = fileURLToPath(new URL('../../examples/gpu-worker/worker.mjs', import.meta.url));
export const FAKE = fileURLToPath(new URL('../fixtures/fake-service.mjs', import.meta.url));

/** Fast probes and a short grace period: tests wait on states, never on fixed sleeps. */
export const FAST = {
  health: { path: '/health', intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 },
  restart: { policy: 'on-failure', initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 3, resetAfterMs: 60_000 },
  startTimeoutMs: 15_000,
} as const;

export async function workerService(name = 'worker', extra: Record<string, unknown> = {}): Promise<Record<string, unknown> & { port: number }> {
  const port = await freePort();
  return { name, kind: 'command', command: [process.execPath, WORKER], baseUrl: `http://127.0.0.1:${port}`, ...FAST, ...extra, port };
}

export async function fakeService(name: string, args: string[] = [], extra: Record<string, unknown> = {}): Promise<Record<string, unknown> & { port: number }> {
  const port = await freePort();
  return { name, kind: 'command', command: [process.execPath, FAKE, ...args], baseUrl: `http://127.0.0.1:${port}`, ...FAST, ...extra, port };
}

/** Config shape of a service (without the test-only `port`). */
export function spec(s: Record<string, unknown>): Record<string, unknown> {
  const { port: _port, ...rest } = s;
  return rest;
}

/** Polls `check` until it returns a truthy value, or fails with `label` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, label: string, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${label} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { isAlive };

export async function postDirect(port: number, path: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method: 'POST' });
  await res.body.dump();
  return res.statusCode;
}

// --- A supervisor on its own (the domain under test, with a real SQLite store and real children) ---
import { join } from 'node:path';
import type { AuditEvent } from '../../src/audit/event.js';
import { ServiceRegistry, Supervisor, type ServiceEvent, type ServiceSpec, type SupervisorOptions } from '../../src/domain/services/index.js';
import { UpstreamClient } from '../../src/egress/upstream.js';
import { createLogger } from '../../src/observe/logger.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { sqliteServiceStore } from '../../src/store/sqlite/services.js';
import { tmpDir } from './gateway.js';

export interface TestSupervisor {
  sup: Supervisor;
  events: ServiceEvent[];
  audits: AuditEvent[];
  dataDir: string;
  stop(): Promise<void>;
}

export async function startSupervisor(
  services: Array<Record<string, unknown>>,
  extra: Partial<SupervisorOptions> & { dataDir?: string } = {},
): Promise<TestSupervisor> {
  const dataDir = extra.dataDir ?? tmpDir('moat-sup-');
  const db = openDatabase({ path: join(dataDir, 'moat.db') });
  const events: ServiceEvent[] = [];
  const audits: AuditEvent[] = [];
  const log = createLogger({ level: 'silent' });
  const upstream = new UpstreamClient({ connectTimeoutMs: 1000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 });
  const registry = new ServiceRegistry({ store: sqliteServiceStore(db), declared: services.map(spec) as unknown as ServiceSpec[], log });
  const sup = new Supervisor({
    registry,
    upstream,
    audit: { record: (e) => void audits.push(e), hasCapacity: () => true },
    log,
    dataDir,
    stopGraceMs: 1000,
    logLines: 200,
    logFileBytes: 1 << 20,
    logFiles: 2,
    allowApiCommands: false,
    containers: { socket: '/var/run/docker.sock' },
    publish: (e) => void events.push(e),
    ...extra,
  });
  await sup.start();
  return {
    sup,
    events,
    audits,
    dataDir,
    stop: async () => {
      await sup.stop();
      await upstream.close();
      db.close();
    },
  };
}
