/**
 * The lifecycle of a real gateway: a start that fails after the services are up (the port is taken)
 * stops everything it started, records why last, and leaves the data dir to the next gateway; a
 * stop asked for while the start is still under way waits for it, then drains and stops in order.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.js';
import { readEntries } from '../helpers/audit.js';
import { LogCapture, TEST_KEY_FILE, gateways, tmpDir } from '../helpers/gateway.js';
import { isAlive, spec, workerService } from '../helpers/services.js';

const boot = gateways('each');
const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A port something else listens on. */
async function takenPort(): Promise<number> {
  const s = net.createServer();
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

describe('a start that fails', () => {
  it('stops what it started (the supervised worker too), records the failed boot last, and frees the data dir', async () => {
    const dataDir = tmpDir();
    const logs = new LogCapture();
    const worker = await workerService('worker', { autoStart: true });
    const gw = createGateway({
      values: { port: await takenPort(), dataDir, logLevel: 'info', audit: { keyFile: TEST_KEY_FILE }, services: [spec(worker)] },
      logDestination: logs,
    });
    await expect(gw.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });

    // The worker was started before the listener failed, and stopped again.
    const pids = logs.entries().flatMap((e) => (typeof e['childPid'] === 'number' ? [e['childPid']] : []));
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    const entries = readEntries(dataDir);
    expect(entries.at(-1)).toMatchObject({ type: 'gateway.boot', outcome: 'error', detail: { reason: 'EADDRINUSE' } });
    expect(entries.some((e) => e.type === 'gateway.boot' && e.outcome === 'ok')).toBe(false);
    expect(existsSync(join(dataDir, 'gateway.json'))).toBe(false);

    // Database, keys and audit were let go of: the next gateway on the data dir starts and serves.
    const next = await boot({ dataDir });
    expect((await next.fetch('/api/v1/status')).status).toBe(200);
  });
});

describe('a stop during the start', () => {
  it('waits for the start, then drains and stops: the shutdown record is the last entry', async () => {
    const dataDir = tmpDir();
    const gw = createGateway({ values: { port: 0, dataDir, logLevel: 'silent', audit: { keyFile: TEST_KEY_FILE } } });
    const starting = gw.start();
    const stopping = gw.stop('SIGTERM');
    await starting;
    await stopping;
    expect(gw.isDraining).toBe(true);
    const types = readEntries(dataDir).map((e) => e.type);
    expect(types[0]).toBe('gateway.boot');
    expect(readEntries(dataDir).at(-1)).toMatchObject({ type: 'gateway.shutdown', detail: { reason: 'SIGTERM', drained: true } });
    expect(existsSync(join(dataDir, 'gateway.json'))).toBe(false);
    await gw.stop(); // idempotent
  });
});
