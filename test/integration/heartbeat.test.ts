/**
 * The security heartbeat: the MOAT_SECURITY line at boot in the log (also of a real `moat serve`)
 * and in the audit, every interval after that, and a notification (ntfy, signed webhook, through the
 * egress guard) only when the verdict worsens.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readEntries } from '../helpers/audit.js';
import { spawnServe } from '../helpers/cli.js';
import { httpServer, type Listening } from '../helpers/egress.js';
import { startGateway, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';
import type http from 'node:http';

const LINE = /^MOAT_SECURITY bind=(\S+)\((loopback|specific|all)\) tls=(on|off) auth=(on|off) authFailures24h=(\d+) lockouts24h=(\d+) doctor=(ok|warn|fail)$/;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function gateway(values: Record<string, unknown> = {}): Promise<TestGateway> {
  const g = await startGateway(values);
  cleanup.push(() => g.stop());
  return g;
}

const heartbeats = (g: TestGateway) => g.logs.entries().filter((e) => typeof e['msg'] === 'string' && (e['msg'] as string).startsWith('MOAT_SECURITY'));

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback server standing in for ntfy and a webhook receiver: keeps what it is sent. */
async function receiver(): Promise<Listening<http.Server> & { received: Received[] }> {
  const received: Received[] = [];
  const l = await httpServer('127.0.0.1', (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.end('{"id":"x"}');
    });
  });
  cleanup.push(() => l.close());
  return { ...l, received };
}

/** A topic ntfy's rules accept: long, random, mixed case and digits. */
const topic = () => `Moat${randomBytes(12).toString('hex')}Zq7`;

describe('at boot', () => {
  it('logs the MOAT_SECURITY line at info, as the message of one JSON line', async () => {
    const g = await gateway();
    const entry = await waitFor(() => heartbeats(g)[0], 'the boot heartbeat');
    expect(entry['level']).toBe(30);
    expect(entry['msg']).toBe(`MOAT_SECURITY bind=127.0.0.1:${g.gw.port}(loopback) tls=off auth=on authFailures24h=0 lockouts24h=0 doctor=ok`);
  });

  it('audits the same line and fields as security.heartbeat', async () => {
    const g = await gateway();
    const logged = await waitFor(() => heartbeats(g)[0], 'the boot heartbeat');
    await g.fetch('/api/v1/audit/verify'); // flushes the writer
    const beat = readEntries(g.dataDir).find((e) => e.type === 'security.heartbeat');
    expect(beat).toMatchObject({
      outcome: 'ok',
      detail: {
        line: logged['msg'],
        bind: `127.0.0.1:${g.gw.port}`,
        bindClass: 'loopback',
        tls: false,
        auth: true,
        authFailures24h: 0,
        lockouts24h: 0,
        doctor: 'ok',
        notOk: [],
      },
    });
  });

  it('says what is weak: TLS on, auth off and the doctor warning', async () => {
    const g = await gateway({ tls: { enabled: true }, auth: { enabled: false } });
    const msg = (await waitFor(() => heartbeats(g)[0], 'the boot heartbeat'))['msg'] as string;
    const m = LINE.exec(msg);
    expect(m?.slice(2)).toEqual(['loopback', 'on', 'off', '0', '0', 'warn']);
  });

  it('appears on the stderr of a real `moat serve`, where journald keeps it', async () => {
    const dataDir = tmpDir();
    const serve = await spawnServe(['--data-dir', dataDir, '--port', '0']);
    cleanup.push(async () => {
      serve.child.kill('SIGTERM');
      await serve.exited;
    });
    const line = await waitFor(
      () =>
        serve
          .stderr()
          .split('\n')
          .find((l) => l.includes('MOAT_SECURITY')),
      'the heartbeat on stderr',
    );
    expect(LINE.test(JSON.parse(line).msg)).toBe(true);
  });
});

describe('every interval, with notifications when the verdict worsens', () => {
  it('beats again on the interval and notifies ntfy once when the verdict turns fail', async () => {
    const ntfy = await receiver();
    const t = topic();
    const g = await gateway({
      heartbeatInterval: 1,
      notifications: { ntfy: { url: `http://127.0.0.1:${ntfy.port}`, topic: t } },
      egress: { purposes: { notify: { allowCidrs: ['127.0.0.1/32'] } } },
    });
    await waitFor(() => heartbeats(g).length >= 2, 'a second heartbeat');
    expect(ntfy.received).toEqual([]); // ok after ok: nothing to say

    chmodSync(join(g.dataDir, 'gateway-token'), 0o644);
    const notice = await waitFor(() => ntfy.received[0], 'the notification');
    expect(notice.path).toBe(`/${t}`);
    expect(notice.headers['title']).toBe('moat: security posture fail (was ok)');
    expect(notice.headers['priority']).toBe('high');
    expect(notice.body.split('\n')[0]).toMatch(LINE);
    expect(notice.body).toContain('doctor=fail');
    expect(notice.body).toContain('not ok: mode.token-file:fail');

    // Fail after fail is no news: two more beats, still one notification.
    const seen = heartbeats(g).length;
    await waitFor(() => heartbeats(g).length >= seen + 2, 'two more heartbeats');
    expect(ntfy.received).toHaveLength(1);
    expect(heartbeats(g).at(-1)?.['msg']).toMatch(/doctor=fail$/);
  });

  it('notifies at boot when the first verdict is already worse than ok, and signs the webhook', async () => {
    const hook = await receiver();
    const g = await gateway({
      rateLimit: { enabled: false },
      notifications: { webhook: { url: `http://127.0.0.1:${hook.port}/moat` } },
      egress: { purposes: { notify: { allowCidrs: ['127.0.0.1/32'] } } },
    });
    const got = await waitFor(() => hook.received[0], 'the webhook notice');
    const body = JSON.parse(got.body);
    expect(body).toMatchObject({ type: 'security.heartbeat', verdict: 'warn', previous: 'ok', notOk: ['rate-limit:warn'] });
    expect(body.line).toMatch(LINE);
    // Signed with the key of the webhook's URL (Moat-Signature v2).
    const secret = (await g.fetch(`/api/v1/callbacks/secret?for=${encodeURIComponent(`http://127.0.0.1:${hook.port}/moat`)}`)).json.secret as string;
    const m = /^t=(\d+),v2=([0-9a-f]{64})$/.exec(got.headers['moat-signature'] as string)!;
    expect(Math.abs(Number(m[1]) - Date.now() / 1000)).toBeLessThan(300);
    expect(createHmac('sha256', secret).update(`${m[1]}.`).update(got.body).digest('hex')).toBe(m[2]);
  });

  it('sends nothing it is not allowed to: the egress guard refuses a loopback ntfy without an exception', async () => {
    const ntfy = await receiver();
    const g = await gateway({ rateLimit: { enabled: false }, notifications: { ntfy: { url: `http://127.0.0.1:${ntfy.port}`, topic: topic() } } });
    await waitFor(() => g.logs.text.includes('security notice not delivered'), 'the refusal in the log');
    expect(ntfy.received).toEqual([]);
    await g.fetch('/api/v1/audit/verify');
    expect(readEntries(g.dataDir).some((e) => e.type === 'egress.blocked' && e.detail?.['purpose'] === 'notify')).toBe(true);
  });
});
