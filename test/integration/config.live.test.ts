/**
 * Live configuration from outside: GET shows the effective config with secrets redacted and the
 * source of each value; PATCH (RFC 7396) changes live keys on the next request, survives restart,
 * refuses restart-only keys and invalid results whole, and is audited with keys, never values.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditText } from '../helpers/audit.js';
import { runCli } from '../helpers/cli.js';
import { gateways, tmpDir, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/services.js';

const boot = gateways('each');

const patch = (g: TestGateway, body: unknown, contentType = 'application/merge-patch+json') =>
  g.fetch('/api/v1/config', { method: 'PATCH', raw: JSON.stringify(body), headers: { 'content-type': contentType } });

describe('GET /api/v1/config', () => {
  it('shows the effective configuration with secrets redacted and where each value came from', async () => {
    const token = 'an-operator-token-that-is-long-enough-1234';
    const g = await boot({ rateLimit: { pair: { perMinute: 7 } } }, { env: { MOAT_ADMIN_TOKEN: token, MOAT_RATE_LIMIT_GENERAL: '900' } });
    const res = await g.fetch('/api/v1/config', { auth: token });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(token);
    expect(res.json.config.auth.token).toBe('[redacted]');
    expect(res.json.config.rateLimit.general.perMinute).toBe(900);
    expect(res.json.sources['rateLimit.general.perMinute']).toBe('env');
    expect(res.json.sources['rateLimit.pair.perMinute']).toBe('flag');
    expect(res.json.sources['rateLimit.jobs.perMinute']).toBe('default');
    expect(res.json.sources['auth.token']).toBe('env');
  });

  it('is for admin only', async () => {
    const g = await boot();
    const reader = (await g.fetch('/api/v1/tokens', { method: 'POST', body: { name: 'r', scopes: ['read'] } })).json.token;
    expect((await g.fetch('/api/v1/config', { auth: reader })).status).toBe(403);
    expect((await g.fetch('/api/v1/config', { auth: reader, method: 'PATCH', body: { allowedOrigins: [] } })).status).toBe(403);
  });
});

describe('PATCH /api/v1/config', () => {
  it('accepts a new allowed origin on the next request, and keeps it across a restart', async () => {
    const dataDir = tmpDir();
    const g = await boot({ dataDir });
    const origin = 'https://app.example.com';
    expect((await g.fetch('/api/v1/status', { headers: { origin } })).status).toBe(403);
    const res = await patch(g, { allowedOrigins: [origin] });
    expect(res.status).toBe(200);
    expect(res.json.sources['allowedOrigins']).toBe('runtime');
    const allowed = await g.fetch('/api/v1/status', { headers: { origin } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(origin);
    expect((statSync(join(dataDir, 'config.runtime.json')).mode & 0o777).toString(8)).toBe('600');
    await g.stop();
    const h = await boot({ dataDir });
    expect((await h.fetch('/api/v1/status', { headers: { origin } })).status).toBe(200);
    expect((await h.fetch('/api/v1/config')).json.sources['allowedOrigins']).toBe('runtime');
  });

  it('applies a new rate limit on the next request', async () => {
    const g = await boot();
    for (let i = 0; i < 5; i++) expect((await g.fetch('/api/v1/status')).status).toBe(200);
    expect((await patch(g, { rateLimit: { general: { perMinute: 8 } } })).status).toBe(200);
    // The window already counted 6 requests (5 + the PATCH): two more pass, then 429.
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    expect((await g.fetch('/api/v1/status')).status).toBe(200);
    const refused = await g.fetch('/api/v1/status');
    expect(refused.status).toBe(429);
    expect(refused.headers['ratelimit-limit']).toBe('8');
  });

  it('accepts a new public name in the Host header', async () => {
    const g = await boot();
    expect((await g.fetch('/api/v1/health', { auth: false, headers: { host: 'moat.lan' } })).status).toBe(421);
    expect((await patch(g, { publicNames: ['moat.lan'] })).status).toBe(200);
    expect((await g.fetch('/api/v1/health', { auth: false, headers: { host: 'moat.lan' } })).status).toBe(200);
  });

  it('takes application/json as well, and null removes an override', async () => {
    const g = await boot({ rateLimit: { general: { perMinute: 700 } } });
    expect((await patch(g, { rateLimit: { general: { perMinute: 800 } } }, 'application/json')).json.config.rateLimit.general.perMinute).toBe(800);
    const back = await patch(g, { rateLimit: null });
    expect(back.json.config.rateLimit.general.perMinute).toBe(700);
    expect(back.json.sources['rateLimit.general.perMinute']).toBe('flag');
  });

  it.each([
    [{ host: '0.0.0.0' }, 409, 'restart_required'],
    [{ port: 1234 }, 409, 'restart_required'],
    [{ tls: { enabled: true } }, 409, 'restart_required'],
    [{ dataDir: '/tmp/elsewhere' }, 409, 'restart_required'],
    [{ lockout: { after: 100 } }, 409, 'restart_required'],
    [{ rateLimit: { general: { perMinute: 0 } } }, 400, 'config_invalid'],
    [{ rateLimit: { general: { perMin: 10 } } }, 400, 'config_invalid'],
    [{ allowedOrigins: ['*'] }, 400, 'config_invalid'],
    [{ allowedOrigins: 'https://a.example' }, 400, 'config_invalid'],
    [{ publicNames: ['bad name'] }, 400, 'config_invalid'],
    [{ egress: { purposes: { fetch: { allowCidrs: ['10.0.0.0/33'] } } } }, 400, 'config_invalid'],
    [{ notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'gateway' } } }, 400, 'config_invalid'],
    [{ nonsense: true }, 400, 'config_invalid'],
  ])('refuses %j with %i %s and changes nothing', async (body, status, code) => {
    const dataDir = tmpDir();
    const g = await boot({ dataDir });
    const before = (await g.fetch('/api/v1/config')).json;
    const res = await patch(g, body);
    expect(res.status).toBe(status);
    expect(res.json.code).toBe(code);
    expect((await g.fetch('/api/v1/config')).json).toEqual(before);
    expect(() => readFileSync(join(dataDir, 'config.runtime.json'))).toThrow();
  });

  it('gives the reason the boot would give for a weak ntfy topic', async () => {
    const g = await boot();
    const weak = { notifications: { ntfy: { url: 'https://ntfy.sh', topic: 'gateway' } } };
    const res = await patch(g, weak);
    const dir = tmpDir();
    writeFileSync(join(dir, 'moat.json'), JSON.stringify({ ...weak, dataDir: join(dir, 'state') }));
    const refusedBoot = await runCli(['serve', '--config', join(dir, 'moat.json'), '--port', '0']);
    expect(refusedBoot.code).toBe(78);
    expect(refusedBoot.stderr.trim()).toBe(`moat: ${res.json.detail}`);
  });

  it('is audited with the keys it touched and never a value', async () => {
    const g = await boot();
    await patch(g, { egress: { purposes: { callback: { allowHosts: ['hooks.example.com'] } } }, rateLimit: { jobs: { perMinute: 321 } } });
    const entries = (await g.fetch('/api/v1/audit?after=0&limit=1000')).json.entries as Array<{
      type: string;
      actor: { id: string };
      detail: { keys: string[] };
    }>;
    const change = entries.find((e) => e.type === 'config.changed');
    expect(change?.actor.id).toBe('admin');
    expect(change?.detail.keys.sort()).toEqual(['egress.purposes.callback.allowHosts', 'rateLimit.jobs.perMinute']);
    const raw = readFileSync(join(g.dataDir, 'audit', 'audit.jsonl'), 'utf8');
    expect(raw).not.toContain('hooks.example.com');
    // (Digits alone can occur in a hash or a timestamp, so the value is looked for where a leak would be.)
    expect(JSON.stringify({ detail: change?.detail, actor: change?.actor })).not.toContain('321');
  });

  it('refuses a broken config.runtime.json at boot with exit 78', async () => {
    const dataDir = tmpDir();
    writeFileSync(join(dataDir, 'config.runtime.json'), '{"rateLimit": {"general": {"perMinute": -1}}}');
    const res = await runCli(['serve', '--data-dir', dataDir, '--port', '0']);
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/runtime overrides: rateLimit\.general\.perMinute/);
  });
});

describe('moat config', () => {
  it('gets a key with its source and sets a live key', async () => {
    const g = await boot();
    const got = await runCli(['config', 'get', 'rateLimit.general.perMinute', '--data-dir', g.dataDir]);
    expect(got.stdout.trim()).toBe('600');
    expect(got.stderr).toMatch(/source: default/);
    const set = await runCli(['config', 'set', 'rateLimit.general.perMinute', '1200', '--data-dir', g.dataDir]);
    expect(set.code).toBe(0);
    expect((await g.fetch('/api/v1/config')).json.config.rateLimit.general.perMinute).toBe(1200);
    const refused = await runCli(['config', 'set', 'port', '9999', '--data-dir', g.dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/restart_required/);
  });
});

describe('live changes of the house', () => {
  it('opens exec with tools.allow and closes it again with tools.deny, on the next request', async () => {
    const g = await boot();
    const run = (await g.fetch('/api/v1/runs', { method: 'POST', body: {} })).json.id as string;
    const exec = () => g.fetch('/api/v1/tools/invoke', { method: 'POST', body: { run, tool: 'exec', args: { argv: ['true'] } } });
    expect((await exec()).json.code).toBe('tool_denied');
    expect((await patch(g, { tools: { allow: ['exec'] } })).status).toBe(200);
    expect((await exec()).status).toBe(200);
    expect((await patch(g, { tools: { deny: ['exec'] } })).status).toBe(200);
    expect((await exec()).json.code).toBe('tool_denied');
    expect((await patch(g, { tools: { allow: ['exce'] } })).status).toBe(400);
  });

  it('adds a mount that runs can name, and never shows its host path', async () => {
    const g = await boot();
    const dir = tmpDir();
    writeFileSync(join(dir, 'notes.md'), 'hello');
    expect((await patch(g, { mounts: [{ name: 'notes', path: dir, readOnly: true }] })).status).toBe(200);
    const policy = await g.fetch('/api/v1/workspace/policy');
    expect(policy.json.mounts).toEqual([{ name: 'notes', readOnly: true }]);
    expect(policy.text).not.toContain(dir);
    const run = (await g.fetch('/api/v1/runs', { method: 'POST', body: { workspace: { mounts: ['notes'] } } })).json.id as string;
    const read = await g.fetch('/api/v1/tools/invoke', { method: 'POST', body: { run, tool: 'fs.read', args: { path: 'mount:notes/notes.md' } } });
    expect(read.json.result.content).toBe('hello');
    expect((await patch(g, { mounts: [{ name: 'bad', path: 'relative/path' }] })).status).toBe(400);
  });

  it('registers, changes and removes a config service', async () => {
    const http = await import('node:http');
    const upstream = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : `hello ${req.url}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const g = await boot();
    try {
      const service = { name: 'echo', kind: 'url', baseUrl: `http://127.0.0.1:${port}`, health: { intervalMs: 50 } };
      expect((await patch(g, { services: [service] })).status).toBe(200);
      await waitFor(async () => (await g.fetch('/api/v1/services/echo')).json?.state === 'healthy', 'echo healthy');
      expect((await g.fetch('/svc/echo/hi')).text).toBe('hello /hi');
      // The same rules as POST /api/v1/services (one function): a live service stays on loopback.
      expect((await patch(g, { services: [{ ...service, baseUrl: 'http://10.0.0.1:80' }] })).json.code).toBe('service_target_refused');
      expect((await patch(g, { services: [] })).status).toBe(200);
      await waitFor(async () => (await g.fetch('/api/v1/services/echo')).status === 404, 'echo removed');
    } finally {
      upstream.close();
    }
  });
});

describe('live changes of hooks', () => {
  it('adds a hook that verifies deliveries at once, and never shows its secret', async () => {
    const g = await boot();
    const secret = 'a-hook-secret-that-nobody-should-see-42';
    const res = await patch(g, { hooks: [{ name: 'gh', verify: 'github', secret, action: { type: 'task', title: 'push to {body.repository.name}' } }] });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(secret);
    expect(res.json.config.hooks[0].secret).toBe('[redacted]');
    const { createHmac } = await import('node:crypto');
    const body = JSON.stringify({ repository: { name: 'moat' } });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const delivery = await g.fetch('/hooks/gh', {
      method: 'POST',
      auth: false,
      raw: body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature, 'x-github-delivery': 'd-1' },
    });
    expect(delivery.status).toBe(202);
    expect((await g.fetch('/api/v1/config')).text).not.toContain(secret);
    expect(auditText(g.dataDir)).not.toContain(secret);
    expect(
      (
        await patch(g, {
          hooks: [
            { name: 'gh', verify: 'github', secret, action: { type: 'task', title: 't' } },
            { name: 'gh', verify: 'github', secret, action: { type: 'task', title: 't' } },
          ],
        })
      ).json.code,
    ).toBe('config_invalid');
  });
});

describe('secrets in live changes', () => {
  const hook = (name: string, secret: string) => ({ name, verify: 'github', secret, action: { type: 'task', title: `from ${name}` } });
  const deliver = async (g: TestGateway, name: string, secret: string) => {
    const { createHmac } = await import('node:crypto');
    const body = JSON.stringify({ n: Math.random() });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    return (
      await g.fetch(`/hooks/${name}`, {
        method: 'POST',
        auth: false,
        raw: body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature, 'x-github-delivery': `d-${Math.random()}` },
      })
    ).status;
  };
  const configChanges = async (g: TestGateway) =>
    ((await g.fetch('/api/v1/audit?after=0&limit=1000')).json.entries as Array<{ type: string; detail: { keys: string[] } }>)
      .filter((e) => e.type === 'config.changed')
      .map((e) => e.detail.keys);

  it('redacts the ntfy topic and the webhook URL, which work as credentials', async () => {
    const topic = 'f3a9c2e7b1d84a6f9e0c5b2a7d3f1e8c';
    const webhook = 'https://hooks.example.com/services/T000/B000/a-secret-in-the-path';
    const g = await boot({ notifications: { ntfy: { url: 'https://ntfy.sh', topic }, webhook: { url: webhook } } });
    const res = await g.fetch('/api/v1/config');
    expect(res.text).not.toContain(topic);
    expect(res.text).not.toContain('a-secret-in-the-path');
    expect(res.json.config.notifications).toEqual({ ntfy: { url: 'https://ntfy.sh', topic: '[redacted]' }, webhook: { url: '[redacted]' } });
  });

  it('audits a rotated secret by its key, never its value, and the new secret is the one that verifies', async () => {
    const g = await boot({ hooks: [hook('gh', 'the-first-secret-of-this-hook-1')] });
    expect(await deliver(g, 'gh', 'the-first-secret-of-this-hook-1')).toBe(202);
    expect((await patch(g, { hooks: [hook('gh', 'the-second-secret-of-this-hook-2')] })).status).toBe(200);
    expect(await deliver(g, 'gh', 'the-first-secret-of-this-hook-1')).toBe(401);
    expect(await deliver(g, 'gh', 'the-second-secret-of-this-hook-2')).toBe(202);
    expect(await configChanges(g)).toEqual([['hooks']]);
    const raw = readFileSync(join(g.dataDir, 'audit', 'audit.jsonl'), 'utf8');
    expect(raw).not.toContain('the-first-secret');
    expect(raw).not.toContain('the-second-secret');
  });

  it('keeps the secret in force where a patch sends back [redacted], as GET showed it', async () => {
    const g = await boot({ hooks: [hook('gh', 'the-secret-that-stays-the-same-1')] });
    const shown = (await g.fetch('/api/v1/config')).json.config.hooks as unknown[];
    expect(shown).toEqual([expect.objectContaining({ name: 'gh', secret: '[redacted]' })]);
    // The list edited as a whole: a new hook first, the shown one (secret [redacted]) after it.
    const res = await patch(g, { hooks: [hook('new', 'the-secret-of-the-new-hook-22'), ...shown] });
    expect(res.status).toBe(200);
    expect(await deliver(g, 'gh', 'the-secret-that-stays-the-same-1')).toBe(202);
    expect(await deliver(g, 'new', 'the-secret-of-the-new-hook-22')).toBe(202);
    expect(readFileSync(join(g.dataDir, 'config.runtime.json'), 'utf8')).not.toContain('[redacted]');
  });

  it('refuses [redacted] where there is no secret to keep, and changes nothing', async () => {
    const g = await boot({ hooks: [hook('gh', 'the-secret-that-stays-the-same-1')] });
    const before = (await g.fetch('/api/v1/config')).json;
    const res = await patch(g, { hooks: [hook('other', '[redacted]')] });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('config_invalid');
    expect(res.json.detail).toMatch(/hooks\[0\]\.secret is \[redacted\]/);
    expect((await g.fetch('/api/v1/config')).json).toEqual(before);
    expect(await deliver(g, 'gh', 'the-secret-that-stays-the-same-1')).toBe(202);
  });
});
