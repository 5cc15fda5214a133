/**
 * Images through the engine: a missing image is pulled when `pull` is "missing" (the default),
 * with progress in the service's log and in live events, and audited; a pull that stalls past
 * startTimeoutMs fails the start like a command service that never turns healthy; a pull the
 * registry refuses fails with the engine's reason. A local registry stands in for the internet.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { describePodman, startPodman, type Podman } from '../helpers/podman.js';
import { IMAGE_NAME, startRegistry, type Registry } from '../helpers/registry.js';
import { waitFor } from '../helpers/services.js';
import { openSse } from '../helpers/streams.js';

const HTTPD = ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'];
const until = <T>(check: () => Promise<T> | T, label: string, timeoutMs = 30_000) => waitFor(check, label, timeoutMs, 150);

describePodman('pulling images through the engine', () => {
  let registry: Registry;
  let stalled: Registry;
  let engine: Podman;
  let g: TestGateway;
  const status = async (name: string) => (await g.fetch(`/api/v1/services/${name}`)).json;
  const logLines = async (name: string) =>
    ((await g.fetch(`/api/v1/services/${name}/logs?tail=500`)).json.lines as Array<{ stream: string; line: string }>).map((l) => l.line);
  const audits = (type: string, service: string) => readEntries(g.dataDir).filter((e) => e.type === type && e.detail?.['service'] === service);

  beforeAll(async () => {
    registry = await startRegistry();
    stalled = await startRegistry();
    stalled.setMode('hang');
    engine = await startPodman({ insecureRegistries: [registry.host, stalled.host] });
    g = await startGateway({
      supervisor: { stopGraceMs: 500, containers: { socket: engine.socket } },
      services: [
        {
          name: 'pulled',
          kind: 'container',
          image: `${registry.host}/${IMAGE_NAME}:1`,
          args: HTTPD,
          port: 8080,
          autoStart: false,
          health: { intervalMs: 100 },
        },
        {
          name: 'stall',
          kind: 'container',
          image: `${stalled.host}/${IMAGE_NAME}:1`,
          args: HTTPD,
          port: 8080,
          startTimeoutMs: 1500,
          restart: { policy: 'on-failure', maxAttempts: 0 },
        },
        { name: 'unknown', kind: 'container', image: `${registry.host}/moat/not-there:1`, port: 8080, restart: { policy: 'never' } },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await g?.stop();
    await engine?.stop();
    await registry?.close();
    await stalled?.close();
  }, 60_000);

  it('pulls a missing image, with progress in the log and in live events, then runs it', async () => {
    const sse = await openSse(g.url, g.token);
    try {
      expect((await g.fetch('/api/v1/services/pulled/start', { method: 'POST' })).status).toBe(200);
      await until(async () => (await status('pulled')).state === 'healthy', 'pulled healthy', 40_000);
      const lines = await logLines('pulled');
      expect(lines).toContain(`pulling ${registry.host}/${IMAGE_NAME}:1`);
      expect(lines.some((l) => l.startsWith('pull: '))).toBe(true);
      expect(lines).toContain(`pulled ${registry.host}/${IMAGE_NAME}:1`);
      expect(registry.seen.some((r) => r.startsWith(`GET /v2/${IMAGE_NAME}/blobs/`))).toBe(true);
      const event = await sse.until((e) => e.event === 'service.pull', 'a pull progress event');
      expect(event.data).toMatchObject({ service: 'pulled', image: `${registry.host}/${IMAGE_NAME}:1`, status: expect.any(String) });
      await until(() => audits('service.image_pulled', 'pulled').length === 1, 'the pull audited');
      expect(audits('service.image_pulled', 'pulled')[0]).toMatchObject({ outcome: 'ok', detail: { image: `${registry.host}/${IMAGE_NAME}:1` } });
      expect((await g.fetch('/svc/pulled/health')).text).toBe('ok\n');
    } finally {
      sse.close();
    }
  }, 60_000);

  it('fails a start whose pull outlasts startTimeoutMs, aborting the pull and creating nothing', async () => {
    const s = await until(async () => {
      const v = await status('stall');
      return v.state === 'failed' ? v : null;
    }, 'stall failed');
    expect(s.failuresInARow).toBe(1);
    const lines = await logLines('stall');
    expect(lines).toContain(`pulling ${stalled.host}/${IMAGE_NAME}:1`);
    expect(lines).toContain('not healthy 1500 ms after start');
    expect(audits('service.unhealthy', 'stall')[0]?.detail).toMatchObject({ reason: 'start timeout' });
    expect((await engine.containers()).filter((c) => c.Labels?.['moat.service'] === 'stall')).toEqual([]);
    expect((await engine.cli(['images', '--format', '{{.Repository}}'])).stdout).not.toContain(stalled.host);
  });

  it("fails a pull the registry refuses with the engine's reason, audited", async () => {
    const s = await until(async () => {
      const v = await status('unknown');
      return v.state === 'crashed' ? v : null;
    }, 'unknown crashed');
    expect(s.lastExit.error).toMatch(/^pulling 127\.0\.0\.1:\d+\/moat\/not-there:1 failed: /);
    await until(() => audits('service.image_pulled', 'unknown').length === 1, 'the failed pull audited');
    expect(audits('service.image_pulled', 'unknown')[0]).toMatchObject({
      outcome: 'error',
      detail: { image: `${registry.host}/moat/not-there:1`, error: expect.stringContaining('failed') },
    });
  });
});
