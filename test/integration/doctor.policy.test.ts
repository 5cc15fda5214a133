/**
 * moat doctor on configured policy: each check turns warn/fail in a deliberately weakened setup and
 * ok when repaired (origin breadth, trusted proxies against bind and traffic, the ntfy topic,
 * services off loopback, high-risk tools and the exec sandbox, client-chosen roots, rate limits).
 */
import { describe, expect, it } from 'vitest';
import { ntfyTopicProblem } from '../../src/domain/jobs/ntfy-topic.js';
import { createGateway } from '../../src/gateway.js';
import { check, doctorReport, type Severity } from '../helpers/doctor.js';
import { gateways, tmpDir } from '../helpers/gateway.js';

const DAY = 86_400_000;
const TOPIC = 'Moat7f3kQ9zXw2LpR8vN4tYb6cJd';
const gateway = gateways('each');

async function severityOf(id: string, values: Record<string, unknown>): Promise<{ severity: Severity; finding: string }> {
  return check(await doctorReport(await gateway(values)), id);
}

describe('each policy check: weakened, then repaired', () => {
  it.each<[string, string, Record<string, unknown>, Severity, Record<string, unknown>]>([
    ['origins', 'a wildcard label over http', { allowedOrigins: ['http://*.example.com'] }, 'warn', { allowedOrigins: ['https://app.example.com'] }],
    ['origins', 'any port of localhost over http', { allowedOrigins: ['http://localhost:*'] }, 'warn', { allowedOrigins: ['http://localhost:5173'] }],
    ['proxy.trusted', 'a non-loopback proxy trusted on a loopback bind', { trustedProxies: ['10.0.0.1'] }, 'warn', {}],
    ['proxy.trusted', 'a local proxy trusted on a loopback bind that has forwarded nothing', { trustedProxies: ['127.0.0.1'] }, 'warn', {}],
    [
      'ntfy.topic',
      'ntfy over plain http to another host',
      { notifications: { ntfy: { url: 'http://ntfy.example.com', topic: TOPIC } } },
      'warn',
      { notifications: { ntfy: { url: 'https://ntfy.sh', topic: TOPIC } } },
    ],
    [
      'services.non-loopback',
      'a service with allowNonLoopback',
      { services: [{ name: 'far', kind: 'url', baseUrl: 'http://192.0.2.10:8000', allowNonLoopback: true, autoStart: false }] },
      'warn',
      { services: [{ name: 'near', kind: 'url', baseUrl: 'http://127.0.0.1:8000', autoStart: false }] },
    ],
    [
      'services.api-commands',
      'command services through the API (remote code execution)',
      { supervisor: { allowApiCommands: true } },
      'warn',
      { supervisor: { allowApiCommands: false, apiTargets: ['11434'] } },
    ],
    ['tools.high-risk', 'exec opened over HTTP', { tools: { allow: ['exec'] } }, 'warn', { tools: { allow: [] } }],
    [
      'tools.sandbox',
      'exec opened without its sandbox',
      { tools: { allow: ['exec'], exec: { sandbox: 'off' } } },
      'fail',
      { tools: { allow: [], exec: { sandbox: 'off' } } },
    ],
    [
      'workspaces.client-scope',
      'client-chosen workspace roots',
      { workspaces: { allowClientScope: true, clientScopeBase: tmpDir() } },
      'warn',
      { workspaces: { allowClientScope: false } },
    ],
    ['rate-limit', 'rate limiting off', { rateLimit: { enabled: false } }, 'warn', { rateLimit: { enabled: true } }],
  ])('%s: %s is flagged, and ok once repaired', async (id, _what, weak, severity, repaired) => {
    const before = await severityOf(id, weak);
    expect(before.severity, before.finding).toBe(severity);
    const after = await severityOf(id, repaired);
    expect(after.severity, after.finding).toBe('ok');
  });

  it('names what it found in the finding', async () => {
    expect((await severityOf('origins', { allowedOrigins: ['http://*.example.com'] })).finding).toContain('http://*.example.com');
    expect(
      (
        await severityOf('services.non-loopback', {
          services: [{ name: 'far', kind: 'url', baseUrl: 'http://192.0.2.10:8000', allowNonLoopback: true, autoStart: false }],
        })
      ).finding,
    ).toContain('far -> http://192.0.2.10:8000');
    expect((await severityOf('tools.high-risk', { tools: { allow: ['exec', 'fs.delete'] } })).finding).toContain('fs.delete, exec');
  });

  it('lists https wildcards in an ok finding (every subdomain is trusted, over TLS)', async () => {
    const f = await severityOf('origins', { allowedOrigins: ['https://*.example.com'] });
    expect(f).toMatchObject({ severity: 'ok', finding: expect.stringContaining('wildcards over https: https://*.example.com') });
  });
});

describe('tools.sandbox with exec open and the sandbox left to detection', () => {
  it('is ok when bubblewrap works here, and fails when it does not', async () => {
    const g = await gateway({ tools: { allow: ['exec'] } });
    const f = check(await doctorReport(g), 'tools.sandbox');
    expect(f.severity).toBe(g.gw.parts.toolbox.sandboxStatus().available ? 'ok' : 'fail');
  });

  it('is ok when the sandbox is required (exec is then unavailable rather than unsandboxed)', async () => {
    const g = await gateway({ tools: { allow: ['exec'], exec: { sandbox: 'required' } } });
    expect(check(await doctorReport(g), 'tools.sandbox').severity).toBe('ok');
  });
});

describe('proxy.trusted against the traffic that arrives', () => {
  it('warns when X-Forwarded-For arrives and no proxy is trusted', async () => {
    const g = await gateway();
    expect(check(await doctorReport(g), 'proxy.trusted').severity).toBe('ok');
    await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(check(await doctorReport(g), 'proxy.trusted')).toMatchObject({
      severity: 'warn',
      finding: expect.stringMatching(/^1 request\(s\) in the last 24 h carried X-Forwarded-For or Forwarded, but no proxy is trusted/),
    });
  });

  it('counts a Forwarded header (RFC 7239) too', async () => {
    const g = await gateway();
    await g.fetch('/api/v1/status', { headers: { forwarded: 'for=203.0.113.9' } });
    expect(check(await doctorReport(g), 'proxy.trusted').severity).toBe('warn');
  });

  it('is ok with the local proxy trusted and forwarding', async () => {
    const g = await gateway({ trustedProxies: ['127.0.0.1'] });
    await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(check(await doctorReport(g), 'proxy.trusted')).toMatchObject({ severity: 'ok', finding: expect.stringContaining('last forwarded') });
  });

  it('warns when a trusted proxy has forwarded nothing for a day (stale trust), and is ok again once it forwards', async () => {
    let offset = 0;
    const g = await gateway({ trustedProxies: ['127.0.0.1'] }, { now: () => Date.now() + offset });
    expect(check(await doctorReport(g), 'proxy.trusted')).toMatchObject({
      severity: 'warn',
      finding: expect.stringContaining('no forwarded header arrived since boot'),
    });
    await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(check(await doctorReport(g), 'proxy.trusted').severity).toBe('ok');
    offset = DAY + 60_000;
    expect(check(await doctorReport(g), 'proxy.trusted')).toMatchObject({
      severity: 'warn',
      finding: expect.stringContaining('no forwarded header arrived for 24 h'),
    });
    await g.fetch('/api/v1/status', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(check(await doctorReport(g), 'proxy.trusted').severity).toBe('ok');
  });
});

describe('ntfy.topic', () => {
  it('cannot see a weak topic on a running gateway: boot refuses it first', () => {
    expect(() => createGateway({ values: { dataDir: tmpDir(), notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'alerts' } } } })).toThrow(
      /notifications\.ntfy\.topic "alerts" is a well-known topic/,
    );
    // The check applies the same rule to whatever config it is given (a live change included).
    expect(ntfyTopicProblem('alerts')).not.toBeNull();
    expect(ntfyTopicProblem(TOPIC)).toBeNull();
  });

  it('is ok without ntfy and with a long random topic over https', async () => {
    expect((await severityOf('ntfy.topic', {})).finding).toBe('no ntfy notifications configured');
    expect(await severityOf('ntfy.topic', { notifications: { ntfy: { url: 'https://ntfy.sh', topic: TOPIC } } })).toMatchObject({ severity: 'ok' });
  });
});
